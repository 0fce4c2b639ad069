use super::*;
use crate::geometry::Pooling;
use crate::network::testing::{geom, random_array, random_targets};

#[test]
fn trait_objective_is_the_two_layer_objective_with_norm() {
    let x = random_array((4, 2, 4, 5), 91);
    let y = random_targets(4, 92);
    let net = TwoLayerCnn::random(
        geom([2, 2], [1, 2], [1, 0]),
        Pooling::Average,
        2,
        3,
        0.8,
        93,
    )
    .with_random_biases(0.3, 94);
    for norm in [FilterNorm::L2, FilterNorm::L1] {
        let inherent = net.objective_with_norm(x.view(), y.view(), 0.4, norm);
        let by_trait = Network::objective_with_norm(&net, x.view(), y.view(), 0.4, norm);
        assert_eq!(
            inherent, by_trait,
            "{norm:?}: inherent {inherent:?} vs trait {by_trait:?}"
        );
        let regularizer = Network::regularizer_with_norm(&net, 0.4, norm);
        assert_eq!(
            by_trait.regularizer, regularizer,
            "{norm:?}: {by_trait:?} vs {regularizer}"
        );
    }
    assert_eq!(
        Network::width(&net),
        3,
        "width {} vs 3",
        Network::width(&net)
    );
}

#[test]
fn trait_takes_circular_signals_as_n_1_1_d_and_matches_the_rows_form() {
    let x = random_array((6, 1, 1, 5), 95);
    let y = random_targets(6, 96);
    let net = CircularCnn::random(5, 3, true, 0.7, 97);
    let rows = x.slice(ndarray::s![.., 0, 0, ..]);
    let by_rows = net.forward(rows);
    let by_trait = Network::forward(&net, x.view());
    assert_eq!(
        by_rows, by_trait,
        "rows {by_rows} vs [n, 1, 1, d] {by_trait}"
    );
    let inherent = net.objective(rows, y.view(), 0.3);
    let through = Network::objective_with_norm(&net, x.view(), y.view(), 0.3, FilterNorm::L2);
    assert_eq!(
        inherent, through,
        "inherent {inherent:?} vs trait {through:?}"
    );
    assert_eq!(
        Network::width(&net),
        3,
        "width {} vs 3",
        Network::width(&net)
    );
}

#[test]
#[should_panic(expected = "ℓ2 norm only")]
fn circular_weight_decay_refuses_l1() {
    let net = CircularCnn::random(4, 2, false, 1.0, 98);
    Network::regularizer_with_norm(&net, 0.1, FilterNorm::L1);
}
