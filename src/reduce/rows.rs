//! The rows one extreme-ray search works on. Every sign pattern of a ReLU layer has the rows
//! `±m_k` of one matrix, so a search reads each row from one shared copy of the unit rows or of
//! their negations instead of writing its own signed copy (four megabytes per pattern on all
//! 1,797 digits); a column-major copy serves the batched tests of [`super::cache`].

/// Unit rows, row-major, with their negations and a column-major copy: what every pattern of one
/// matrix shares.
pub(super) struct Base {
    pub(super) h: usize,
    /// Number of rows.
    pub(super) n: usize,
    /// Row b at `pos[b*h..(b+1)*h]`.
    pub(super) pos: Vec<f64>,
    /// The same rows negated (empty when no position reads a negated row).
    pub(super) neg: Vec<f64>,
    /// Entry a of row b at `cols[a*n + b]`.
    pub(super) cols: Vec<f64>,
}

impl Base {
    /// From unit rows (row-major, `h` columns); `negated` when some position will read `−row`.
    pub(super) fn new(u: Vec<f64>, h: usize, negated: bool) -> Base {
        let n = u.len().checked_div(h).unwrap_or(0);
        let mut cols = vec![0.0; n * h];
        for (b, row) in u.chunks_exact(h.max(1)).enumerate() {
            for (a, &v) in row.iter().enumerate() {
                cols[a * n + b] = v;
            }
        }
        let neg = if negated {
            u.iter().map(|v| -v).collect()
        } else {
            Vec::new()
        };
        Base {
            h,
            n,
            pos: u,
            neg,
            cols,
        }
    }
}

/// The rows of one cone as positions: position q reads base row `base_of(q)`, negated when
/// `flip[q]`. Positions below `base.n` are the base rows themselves; the others repeat a base
/// row (a direction whose rows a pattern signs differently).
pub(super) struct Rows<'a> {
    pub(super) base: &'a Base,
    /// Base row of every position ≥ `base.n`.
    extra: Vec<usize>,
    flip: Vec<bool>,
}

impl<'a> Rows<'a> {
    /// Every base row, unsigned.
    pub(super) fn plain(base: &'a Base) -> Rows<'a> {
        Rows {
            base,
            extra: Vec::new(),
            flip: vec![false; base.n],
        }
    }

    /// The base rows signed by `flip` (one per base row), then the base rows `extra` signed by
    /// `extra_flip`. Negated rows need a base made with `negated`.
    pub(super) fn signed(
        base: &'a Base,
        mut flip: Vec<bool>,
        extra: Vec<usize>,
        extra_flip: impl Iterator<Item = bool>,
    ) -> Rows<'a> {
        flip.extend(extra_flip);
        debug_assert_eq!(flip.len(), base.n + extra.len());
        debug_assert!(!base.neg.is_empty() || flip.iter().all(|&f| !f));
        Rows { base, extra, flip }
    }

    /// Number of positions.
    pub(super) fn len(&self) -> usize {
        self.flip.len()
    }

    /// The base row position `q` reads.
    pub(super) fn base_of(&self, q: usize) -> usize {
        if q < self.base.n {
            q
        } else {
            self.extra[q - self.base.n]
        }
    }

    /// Whether position `q` reads the negated row.
    pub(super) fn flipped(&self, q: usize) -> bool {
        self.flip[q]
    }

    /// The unit row at position `q`.
    pub(super) fn row(&self, q: usize) -> &'a [f64] {
        let h = self.base.h;
        let b = self.base_of(q);
        let src: &'a [f64] = if self.flip[q] {
            &self.base.neg
        } else {
            &self.base.pos
        };
        &src[b * h..(b + 1) * h]
    }

    /// Every row, signed, row-major (for the rare fallbacks that need them contiguous).
    pub(super) fn to_vec(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.len() * self.base.h);
        for q in 0..self.len() {
            out.extend_from_slice(self.row(q));
        }
        out
    }

    /// `g · row(q)` for every position, from the column-major copy (one pass per coordinate).
    pub(super) fn dots(&self, g: &[f64]) -> Vec<f64> {
        let n = self.base.n;
        let mut d = vec![0.0; n];
        for (a, &ga) in g.iter().enumerate() {
            let col = &self.base.cols[a * n..(a + 1) * n];
            for (dv, &c) in d.iter_mut().zip(col) {
                *dv += ga * c;
            }
        }
        let mut out: Vec<f64> = (0..self.len()).map(|q| d[self.base_of(q)]).collect();
        for (v, &f) in out.iter_mut().zip(&self.flip) {
            if f {
                *v = -*v;
            }
        }
        out
    }
}
