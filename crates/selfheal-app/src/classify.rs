//! `self-heal classify`: exactly the classification the analysis uses, for flagged calls
//! given one JSON object per line (for scripting, debugging and evaluation).
//!
//! Input, one object per line: `{"tool": …, "message": …, "error_type"?: …,
//! "duration_ms"?: …, "input"?: {…}, "exit_code"?: …, "interrupted"?: …, "status"?: …}`
//! (`message` may also be given as `result` or `error`). Each line is a flagged call; the
//! duration is taken as measured by the tool. Output, one object per input line, in order:
//! `{"outcome", "class", "confidence", "signals", "program", "template", "template_id",
//! "salient", "exit_code"}` — `class`, `template` and `template_id` are set for failures only,
//! as in the index; templates are mined per (tool, class) over the whole input, like the
//! index does over a history, and each line shows its cluster's final template. A line that
//! cannot be read gives `{"line": N, "error": "…"}` in its place.

use std::collections::HashMap;

use schemars::JsonSchema;
use selfheal_core::classify::{
    CallFacts, FailureClass, Outcome, Signal, analyze, is_explicit_timeout,
};
use selfheal_core::pattern::template_partition;
use selfheal_core::shell::{command_of, is_shell_tool};
use selfheal_core::template::TemplateMiner;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One flagged call to classify.
#[derive(Clone, Debug, Deserialize)]
pub struct ClassifyInput {
    pub tool: String,
    #[serde(default, alias = "result", alias = "error")]
    pub message: Option<String>,
    #[serde(default)]
    pub error_type: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    #[serde(default, alias = "arguments")]
    pub input: Option<Value>,
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub interrupted: Option<bool>,
    #[serde(default)]
    pub status: Option<String>,
}

/// The classification of one flagged call.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct ClassifyOutput {
    pub outcome: Outcome,
    /// The cause class (failures only).
    pub class: Option<FailureClass>,
    /// In [0, 1] (failures only; 0 otherwise).
    pub confidence: f64,
    /// The signals behind the class (failures) or the outcome (other outcomes).
    pub signals: Vec<Signal>,
    /// The program a shell tool ran.
    pub program: Option<String>,
    /// The message template of the failure's (tool, class) (failures only).
    pub template: Option<String>,
    pub template_id: Option<u32>,
    /// The salient line the class and the template were read from.
    pub salient: String,
    /// The exit code, recorded or read from the harness framing.
    pub exit_code: Option<i64>,
}

/// Classifies a sequence of flagged calls the way the index does: timeout ceilings per tool
/// and templates per (tool, class) accumulate over the sequence.
#[derive(Default)]
pub struct Classifier {
    miner: TemplateMiner,
    ceilings: HashMap<String, i64>,
}

impl Classifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Classifies one call; its template is the cluster's template at this point (see
    /// [`Classifier::final_templates`]).
    pub fn classify(&mut self, call: &ClassifyInput) -> ClassifyOutput {
        let command = if is_shell_tool(&call.tool) {
            call.input.as_ref().and_then(command_of)
        } else {
            None
        };
        let a = analyze(&CallFacts {
            tool: &call.tool,
            error_type: call.error_type.as_deref(),
            message: call.message.as_deref(),
            duration_ms: call.duration_ms,
            duration_recorded: call.duration_ms.is_some(),
            timeout_ceiling_ms: self.ceilings.get(&call.tool).copied(),
            exit_code: call.exit_code,
            interrupted: call.interrupted.unwrap_or(false),
            status: call.status.as_deref(),
            command: command.as_deref(),
        });
        if a.outcome != Outcome::Failure {
            return ClassifyOutput {
                outcome: a.outcome,
                class: None,
                confidence: 0.0,
                signals: a.outcome_signals,
                program: a.program,
                template: None,
                template_id: None,
                salient: a.salient,
                exit_code: a.exit_code,
            };
        }
        let c = &a.classification;
        if is_explicit_timeout(c)
            && let Some(d) = call.duration_ms
        {
            let ceiling = self.ceilings.entry(call.tool.clone()).or_insert(0);
            *ceiling = (*ceiling).max(d);
        }
        let mined = self
            .miner
            .add(&template_partition(&call.tool, c.class), &a.salient);
        ClassifyOutput {
            outcome: a.outcome,
            class: Some(c.class),
            confidence: (c.confidence * 10_000.0).round() / 10_000.0,
            signals: c.signals.clone(),
            program: a.program,
            template: self.miner.template(mined.cluster_id),
            template_id: Some(mined.cluster_id),
            salient: a.salient,
            exit_code: a.exit_code,
        }
    }

    /// Replaces each output's template with its cluster's final template.
    pub fn final_templates(&self, outputs: &mut [ClassifyOutput]) {
        for o in outputs {
            if let Some(t) = o.template_id.and_then(|id| self.miner.template(id)) {
                o.template = Some(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(line: &str) -> ClassifyInput {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn classifies_a_sequence_like_the_index() {
        let lines = [
            r#"{"tool":"Read","message":"<tool_use_error>File does not exist.</tool_use_error>"}"#,
            r#"{"tool":"Bash","result":"Exit code 1","input":{"command":"rg -n foo"}}"#,
            r#"{"tool":"Bash","message":"Exit code 127\nbash: gh: command not found","input":{"command":"gh pr list"}}"#,
            r#"{"tool":"read_file","error":"ENOENT: no such file or directory, open '/a/b.json'","error_type":"tool_error"}"#,
            r#"{"tool":"read_file","message":"ENOENT: no such file or directory, open '/c/d.json'"}"#,
        ];
        let mut c = Classifier::new();
        let mut out: Vec<ClassifyOutput> = lines.iter().map(|l| c.classify(&input(l))).collect();
        c.final_templates(&mut out);
        assert_eq!(out[0].class, Some(FailureClass::NotFound));
        assert_eq!(out[1].outcome, Outcome::Benign);
        assert_eq!(out[1].template, None);
        assert_eq!(
            (out[2].class, out[2].program.as_deref()),
            (Some(FailureClass::DependencyFailure), Some("gh"))
        );
        // Recorded as tool_error or not at all, the same cause and the same template.
        assert_eq!(out[3].class, Some(FailureClass::NotFound));
        assert_eq!(out[3].class, out[4].class);
        assert_eq!(out[3].template_id, out[4].template_id);
        assert!(
            out[3].template.as_deref().unwrap().contains("ENOENT"),
            "{:?}",
            out[3].template
        );
    }
}
