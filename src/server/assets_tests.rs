//! Unit tests of `server::assets`: hashed names, build ids in a wasm, the site check.

use super::*;
use crate::build_id::MARKER;

#[test]
fn hashed_names_are_told_from_plain_ones() {
    assert!(has_content_hash("/pulseboard.AbCdEfGhIjKlMnOpQrSt_-.wasm"));
    assert!(has_content_hash("pulseboard.AbCdEfGhIjKlMnOpQrSt_-.js"));
    assert!(!has_content_hash("/pulseboard.wasm"));
    assert!(!has_content_hash("/pulseboard_bg.wasm"));
    // 21 characters, or one outside URL-safe base64.
    assert!(!has_content_hash("/pulseboard.AbCdEfGhIjKlMnOpQrSt_.wasm"));
    assert!(!has_content_hash("/pulseboard.AbCdEfGhIjKlMnOpQrSt_+.wasm"));
    assert!(!has_content_hash("/AbCdEfGhIjKlMnOpQrSt_-.wasm"));
}

#[test]
fn build_ids_are_read_after_every_marker() {
    let other = format!("{MARKER_PREFIX}{}", "0123456789abcdef".repeat(2));
    let bytes = [b"\0\x01junk".as_slice(), other.as_bytes(), b"\0", MARKER.as_bytes(), b"\0tail"].concat();
    assert_eq!(build_ids(&bytes), vec!["0123456789abcdef0123456789abcdef", BUILD_ID]);
    // A prefix at the very end, or followed by something that is not an id.
    assert!(build_ids(format!("x{MARKER_PREFIX}").as_bytes()).is_empty());
    assert!(build_ids(format!("{MARKER_PREFIX}not-an-id-at-all-not-an-id-at-all").as_bytes()).is_empty());
}

const HASHES: &str = "js: JJJJJJJJJJJJJJJJJJJJJJ\nwasm: WWWWWWWWWWWWWWWWWWWWWW\ncss: CCCCCCCCCCCCCCCCCCCCCC\n";

/// A deploy directory: `hash.txt` (when given) beside where the binary would be, and `site/pkg`
/// with the files the hash file names, the wasm holding `wasm`.
fn deploy(hashes: Option<&str>, wasm: &[u8]) -> (tempfile::TempDir, LeptosOptions) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(hashes) = hashes {
        std::fs::write(dir.path().join("hash.txt"), hashes).unwrap();
    }
    let pkg = dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("pulseboard.JJJJJJJJJJJJJJJJJJJJJJ.js"), "export default 1").unwrap();
    std::fs::write(pkg.join("pulseboard.WWWWWWWWWWWWWWWWWWWWWW.wasm"), wasm).unwrap();
    std::fs::write(pkg.join("pulseboard.CCCCCCCCCCCCCCCCCCCCCC.css"), "body{}").unwrap();
    let options = LeptosOptions::builder()
        .output_name("pulseboard")
        .site_root(dir.path().join("site").to_string_lossy().to_string())
        .hash_files(true)
        .build();
    (dir, options)
}

fn wasm_of(marker: &str) -> Vec<u8> {
    [b"\0asm\x01\0\0\0".as_slice(), marker.as_bytes(), b"\0"].concat()
}

#[test]
fn a_site_of_this_build_passes() {
    let (dir, options) = deploy(Some(HASHES), &wasm_of(MARKER));
    let status = inspect_site(&options, dir.path()).unwrap();
    let wasm = dir.path().join("site/pkg/pulseboard.WWWWWWWWWWWWWWWWWWWWWW.wasm");
    assert_eq!(status, SiteStatus::Matches { wasm: wasm.clone(), precompressed: false });
    std::fs::write(format!("{}.br", wasm.display()), "x").unwrap();
    assert_eq!(inspect_site(&options, dir.path()).unwrap(), SiteStatus::Matches { wasm, precompressed: true });
}

#[test]
fn a_site_of_another_build_is_refused_with_both_ids() {
    let other = "fedcba9876543210".repeat(2);
    let (dir, options) = deploy(Some(HASHES), &wasm_of(&format!("{MARKER_PREFIX}{other}")));
    let err = inspect_site(&options, dir.path()).unwrap_err();
    assert!(matches!(&err, SiteError::OtherBuild { found, .. } if *found == other), "{err}");
    let message = err.to_string();
    assert!(message.contains(&other) && message.contains(BUILD_ID), "{message}");
}

#[test]
fn a_wasm_without_an_id_is_refused() {
    let (dir, options) = deploy(Some(HASHES), b"\0asm\x01\0\0\0");
    assert!(matches!(inspect_site(&options, dir.path()), Err(SiteError::NoBuildId(_))));
}

#[test]
fn a_file_the_hash_file_names_but_the_site_lacks_is_refused() {
    // The hash file of another build: its wasm is not in the site.
    let hashes = HASHES.replace("WWWWWWWWWWWWWWWWWWWWWW", "XXXXXXXXXXXXXXXXXXXXXX");
    let (dir, options) = deploy(Some(&hashes), &wasm_of(MARKER));
    let err = inspect_site(&options, dir.path()).unwrap_err();
    assert!(matches!(&err, SiteError::FileMissing(path) if path.ends_with("pulseboard.XXXXXXXXXXXXXXXXXXXXXX.wasm")));
}

#[test]
fn a_missing_or_malformed_hash_file_is_refused() {
    let (dir, options) = deploy(None, &wasm_of(MARKER));
    let err = inspect_site(&options, dir.path()).unwrap_err();
    assert!(matches!(err, SiteError::HashFileMissing(_)), "{err}");
    assert!(err.to_string().contains("hash.txt"), "{err}");
    let (dir, options) = deploy(Some("js: JJJJJJJJJJJJJJJJJJJJJJ\n"), &wasm_of(MARKER));
    assert!(matches!(inspect_site(&options, dir.path()), Err(SiteError::HashFileMalformed { kind: "wasm", .. })));
}

#[test]
fn no_pkg_dir_is_no_front_end() {
    let dir = tempfile::tempdir().unwrap();
    let options = LeptosOptions::builder()
        .output_name("pulseboard")
        .site_root(dir.path().join("site").to_string_lossy().to_string())
        .hash_files(true)
        .build();
    assert!(matches!(inspect_site(&options, dir.path()), Ok(SiteStatus::NoFrontEnd { .. })));
}
