//! Two-layer weights in the result-file layout, as given on the command line or read back.

/// Weights of a two-layer CNN in the result-file layout: one flattened filter per neuron in
/// (channel, row, col) order, one output weight per neuron, and (only when the problem has
/// `"bias": true`) one bias per neuron.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Weights {
    /// Filters, each of length `h = C·kh·kw`.
    pub filters: Vec<Vec<f64>>,
    /// Output weights, one per filter.
    pub output_weights: Vec<f64>,
    /// Biases, one per filter; present exactly when the architecture has a bias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biases: Option<Vec<f64>>,
}

impl Weights {
    /// Checks the shapes against filter length `h` (`C·kh·kw`, without the bias) and whether the
    /// architecture has a bias; the message says what does not fit.
    pub fn check(&self, h: usize, bias: bool) -> std::result::Result<(), String> {
        if self.filters.len() != self.output_weights.len() {
            return Err(format!(
                "{} filters but {} output weights; give one output weight per filter",
                self.filters.len(),
                self.output_weights.len()
            ));
        }
        match (&self.biases, bias) {
            (None, true) => {
                return Err(
                    "the problem has \"bias\": true but the network has no \"biases\"; give one \
                     bias per neuron"
                        .into(),
                );
            }
            (Some(_), false) => {
                return Err(
                    "the network has \"biases\" but the problem's architecture has no bias; drop \
                     them or set \"bias\": true in the architecture"
                        .into(),
                );
            }
            (Some(b), true) if b.len() != self.filters.len() => {
                return Err(format!(
                    "{} biases for {} filters; give one bias per filter",
                    b.len(),
                    self.filters.len()
                ));
            }
            _ => {}
        }
        if let Some((j, f)) = self.filters.iter().enumerate().find(|(_, f)| f.len() != h) {
            return Err(format!(
                "filter {j} has {} entries but the problem's filters have h = {h} \
                 (channels × kernel, in (channel, row, col) order)",
                f.len()
            ));
        }
        if let Some(v) = self
            .filters
            .iter()
            .flatten()
            .chain(&self.output_weights)
            .chain(self.biases.iter().flatten())
            .find(|v| !v.is_finite())
        {
            return Err(format!("the network holds the non-finite weight {v}"));
        }
        Ok(())
    }
}
