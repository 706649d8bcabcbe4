//! The config editor on arbitrary files, keys and values: a plan is an error or a text that
//! is TOML and reads back as the edit; planning the same edit on the edited text changes
//! nothing; and (for one input in four) apply then rollback restores the file byte for byte.
//! Files live in a private directory (on tmpfs where there is one).

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use selfheal_app::config_edit::{ConfigEdit, apply, plan, rollback, sha256_hex};

#[derive(Arbitrary, Debug)]
struct Input {
    file: Vec<u8>,
    key: String,
    /// JSON text of the new value (a JSON string of itself when it does not parse).
    value: String,
    apply: u8,
}

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        tempfile::Builder::new()
            .prefix("selfheal-fuzz-config-")
            .tempdir_in(base)
            .expect("a temporary directory")
    })
}

fuzz_target!(|input: Input| {
    let root = dir().path();
    let config: PathBuf = root.join("config.toml");
    let backups = root.join("backups");
    std::fs::write(&config, &input.file).expect("write the config file");
    let new_value = serde_json::from_str(&input.value)
        .unwrap_or(serde_json::Value::String(input.value.clone()));
    let edit = ConfigEdit {
        key: input.key.clone(),
        new_value,
    };
    let Ok(p) = plan(&config, None, &edit) else {
        return;
    };
    assert_eq!(p.before_sha256, sha256_hex(&input.file));
    assert_eq!(p.after_sha256, sha256_hex(p.after_text.as_bytes()));
    assert!(p.after_text.parse::<toml_edit::DocumentMut>().is_ok());
    assert_eq!(
        p.diff.is_empty(),
        p.after_text.as_bytes() == input.file.as_slice()
    );
    if input.apply % 4 != 0 {
        // Planning again on the edited text is a no-op.
        std::fs::write(&config, p.after_text.as_bytes()).expect("write the edited text");
        let again = plan(&config, None, &edit).expect("the edit plans again on its own result");
        assert_eq!(
            again.after_text, p.after_text,
            "a second edit of {:?} changed the text",
            edit.key
        );
        return;
    }
    let applied = apply(&p, &backups).expect("a fresh plan applies");
    assert_eq!(
        std::fs::read(&config).expect("read"),
        p.after_text.as_bytes()
    );
    rollback(&applied).expect("an untouched edit rolls back");
    assert_eq!(std::fs::read(&config).expect("read"), input.file);
    let _ = std::fs::remove_dir_all(&backups);
});
