//! The classifier, the normaliser and the template miner on a stream of flagged calls, as the
//! indexer runs them: each call is analysed (with the tool's timeout ceiling learnt from the
//! earlier calls), its salient line normalised and mined under `tool␟class`. Checked on the
//! way: a confidence is a probability, a mined message's cluster has a template, and a miner
//! rebuilt from its exported clusters halfway goes on exactly like the original (the restart
//! invariant).

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use selfheal_core::classify::{CallFacts, Outcome, analyze, is_explicit_timeout};
use selfheal_core::pattern::template_partition;
use selfheal_core::template::{TemplateMiner, normalize};

#[derive(Arbitrary, Debug)]
struct Call {
    tool: String,
    error_type: Option<String>,
    message: Option<String>,
    duration_ms: Option<i64>,
    duration_recorded: bool,
    exit_code: Option<i64>,
    interrupted: bool,
    status: Option<String>,
    command: Option<String>,
}

fuzz_target!(|calls: Vec<Call>| {
    let mut ceilings: HashMap<&str, i64> = HashMap::new();
    let mut miner = TemplateMiner::new();
    let mut restarted: Option<TemplateMiner> = None;
    let half = calls.len() / 2;
    for (i, call) in calls.iter().enumerate() {
        if i == half {
            restarted = Some(TemplateMiner::from_clusters(miner.clusters().to_vec()));
        }
        let facts = CallFacts {
            tool: &call.tool,
            error_type: call.error_type.as_deref(),
            message: call.message.as_deref(),
            duration_ms: call.duration_ms,
            duration_recorded: call.duration_recorded,
            timeout_ceiling_ms: ceilings.get(call.tool.as_str()).copied(),
            exit_code: call.exit_code,
            interrupted: call.interrupted,
            status: call.status.as_deref(),
            command: call.command.as_deref(),
        };
        let a = analyze(&facts);
        let confidence = a.classification.confidence;
        assert!((0.0..=1.0).contains(&confidence), "confidence {confidence}");
        if a.outcome != Outcome::Failure {
            continue;
        }
        if is_explicit_timeout(&a.classification)
            && let Some(d) = call.duration_ms
        {
            let c = ceilings.entry(call.tool.as_str()).or_insert(0);
            *c = (*c).max(d);
        }
        // Normalising is not asserted idempotent here: on arbitrary text it is not (quote and
        // backtick runs glued to paths; see the property test in selfheal-core's template.rs).
        let normalized = normalize(&a.salient);
        let partition = template_partition(&call.tool, a.classification.class);
        let mined = miner.add_normalized(&partition, &normalized);
        assert!(miner.template(mined.cluster_id).is_some());
        if let Some(r) = restarted.as_mut() {
            let again = r.add_normalized(&partition, &normalized);
            assert_eq!(again, mined, "a rebuilt miner diverged on {normalized:?}");
        }
    }
    if let Some(r) = restarted {
        assert_eq!(r.clusters(), miner.clusters());
    }
});
