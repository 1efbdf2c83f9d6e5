//! Reading a Prometheus exposition of Tern's metrics (status lines, the loss report, heartbeat
//! rows, `tern send-test`): never on a hot path.

/// The sum of metric `name` over its label sets whose line contains `filter`.
pub fn sum_in(exposition: &str, name: &str, filter: &str) -> f64 {
    exposition
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                && l.contains(filter)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>()
        .abs() // an empty sum is -0.0
}
