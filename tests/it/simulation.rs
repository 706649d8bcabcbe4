//! test_improvement's simulation is computed from the history: its numbers follow the evidence
//! of the pattern (recovered failures for transient fixes, classified occurrences for fixes of
//! the cause) and change when the data changes.

use selfheal_app::args::{PatternArgs, ProposeArgs, TestArgs};
use selfheal_tests::{PLANT_NOW, app, ms, plant, quiet};

fn simulate(
    seed: u64,
    pattern_id: &str,
) -> (
    selfheal_app::views::TestView,
    selfheal_core::pattern::Pattern,
    String,
) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), seed);
    let app = app(&db, ms(PLANT_NOW));
    let proposal = app
        .propose_improvement(
            &ProposeArgs {
                pattern_id: pattern_id.into(),
                since: "-30d".into(),
            },
            &mut quiet(),
        )
        .unwrap();
    let view = app
        .test_improvement(
            &TestArgs {
                improvement_id: proposal.improvement_id,
                mode: "simulation".into(),
            },
            &mut quiet(),
        )
        .unwrap();
    let pattern = app
        .get_pattern(
            &PatternArgs {
                detail: selfheal_app::args::Detail::Full,
                pattern_id: pattern_id.into(),
                since: "-30d".into(),
                samples: 1,
            },
            &mut quiet(),
        )
        .unwrap()
        .pattern;
    (view, pattern, proposal.strategy.id)
}

#[test]
fn simulation_follows_the_evidence() {
    for (pattern_id, seed) in [
        ("timeout:fetch_url", 1),
        ("not_found:read_file", 1),
        ("timeout:fetch_url", 7),
    ] {
        let (v, p, strategy) = simulate(seed, pattern_id);
        assert!(v.failures_fixed <= p.occurrences, "{pattern_id}: {v:#?}");
        let (sim, base) = (
            v.simulated_success_rate.unwrap(),
            v.baseline_success_rate.unwrap(),
        );
        let expected_gain = v.failures_fixed as f64 / v.calls_analyzed as f64;
        assert!(
            (sim - base - expected_gain).abs() < 2e-4,
            "{pattern_id}: {sim} - {base} vs {expected_gain}"
        );
        assert!(v.assumptions.len() >= 3 && v.explanation.contains(&v.failures_fixed.to_string()));
        if strategy.starts_with("timeout.") {
            // Transient evidence: the failures a later call of the same tool recovered.
            assert_eq!(
                v.failures_fixed, p.recovery.recovered,
                "{pattern_id} with {strategy}"
            );
        } else if strategy.starts_with("not_found.existence") {
            let by_cause =
                (p.occurrences as f64 * p.classification.share * p.classification.confidence)
                    .round() as u64;
            assert_eq!(v.failures_fixed, by_cause, "{pattern_id} with {strategy}");
        }
    }
}

#[test]
fn simulation_changes_with_the_data() {
    let (a, pa, _) = simulate(1, "timeout:fetch_url");
    let (b, pb, _) = simulate(7, "timeout:fetch_url");
    assert_ne!(
        (pa.occurrences, pa.recovery.recovered),
        (pb.occurrences, pb.recovery.recovered),
        "the fixtures differ"
    );
    assert_ne!(
        (a.failures_fixed, a.simulated_success_rate, a.calls_analyzed),
        (b.failures_fixed, b.simulated_success_rate, b.calls_analyzed),
        "different histories give different simulations"
    );
}
