//! The built front end's files as the pages link them: the js, wasm and css names (with their
//! content hash under `hash-files`), and the shell's tags that load them.
//!
//! The server reads the names once, at start (`server::assets`, from `hash.txt` beside the
//! binary), and hands them to the shell: no page render touches the disk. This replaces Leptos's
//! `HashedStylesheet` and `HydrationScripts`, which read the hash file on every page they render
//! (and panic without one); [`FrontEndLinks`] renders the same tags as they do (no nonce, no
//! islands, no idle-time hydration), the hydration script included. Runs everywhere; no I/O here.

use leptos::prelude::*;

/// The file names of one build's front end, inside the site's pkg dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontEnd {
    pub js: String,
    pub wasm: String,
    pub css: String,
    /// The names carry their content hash (and never change: they may be cached for good).
    pub hashed: bool,
}

impl FrontEnd {
    /// The names without `hash-files`. Leptos adds `_bg` to the wasm only when it was built
    /// without cargo-leptos.
    pub fn plain(output_name: &str) -> Self {
        let wasm_suffix = if option_env!("LEPTOS_OUTPUT_NAME").is_none() { "_bg" } else { "" };
        Self {
            js: format!("{output_name}.js"),
            wasm: format!("{output_name}{wasm_suffix}.wasm"),
            css: format!("{output_name}.css"),
            hashed: false,
        }
    }

    /// The names cargo-leptos's hash file lists (`js: <hash>` lines), or the first kind
    /// (`"js"`, `"wasm"`, `"css"`) it does not list.
    pub fn hashed(output_name: &str, hash_file: &str) -> Result<Self, &'static str> {
        let name = |kind: &'static str| {
            hash_file
                .lines()
                .filter_map(|line| line.trim().split_once(':'))
                .find(|(key, _)| key.trim() == kind)
                .map(|(_, hash)| format!("{output_name}.{}.{kind}", hash.trim()))
                .ok_or(kind)
        };
        Ok(Self { js: name("js")?, wasm: name("wasm")?, css: name("css")?, hashed: true })
    }
}

/// What `HydrationScripts` runs: loads the js, which loads the wasm, then hydrates.
const HYDRATION_SCRIPT: &str = r#"(function (root, pkg_path, output_name, wasm_output_name) {
	import(`${root}/${pkg_path}/${output_name}.js`)
		.then(mod => {
			mod.default({module_or_path: `${root}/${pkg_path}/${wasm_output_name}.wasm`}).then(() => {
				mod.hydrate();
			});
		});
})"#;

/// The stylesheet, the preloads of the js and the wasm, and the script that hydrates the page:
/// for the shell's `<head>`, with the site's `pkg_dir`.
#[component]
pub fn FrontEndLinks(front_end: FrontEnd, pkg_dir: String) -> impl IntoView {
    let stem = |name: &str, ext: &str| name.strip_suffix(ext).unwrap_or(name).to_string();
    let (js_stem, wasm_stem) = (stem(&front_end.js, ".js"), stem(&front_end.wasm, ".wasm"));
    // The arguments: the site's root (the pages are served at `/`), pkg dir, js and wasm stems.
    let script = format!("{HYDRATION_SCRIPT}(\"\", {pkg_dir:?}, {js_stem:?}, {wasm_stem:?});");
    view! {
        <link id="leptos" rel="stylesheet" href=format!("/{pkg_dir}/{}", front_end.css)/>
        <link rel="modulepreload" href=format!("/{pkg_dir}/{}", front_end.js)/>
        <link rel="preload" href=format!("/{pkg_dir}/{}", front_end.wasm) r#as="fetch" r#type="application/wasm" crossorigin=""/>
        <script type="module">{script}</script>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASHES: &str = "js: JJJJJJJJJJJJJJJJJJJJJJ\nwasm: WWWWWWWWWWWWWWWWWWWWWW\ncss: CCCCCCCCCCCCCCCCCCCCCC\n";

    #[test]
    fn the_hash_file_names_each_file() {
        let names = FrontEnd::hashed("pulseboard", HASHES).unwrap();
        assert_eq!(names.js, "pulseboard.JJJJJJJJJJJJJJJJJJJJJJ.js");
        assert_eq!(names.wasm, "pulseboard.WWWWWWWWWWWWWWWWWWWWWW.wasm");
        assert_eq!(names.css, "pulseboard.CCCCCCCCCCCCCCCCCCCCCC.css");
        assert!(names.hashed);
        assert_eq!(FrontEnd::hashed("pulseboard", "js: J\ncss: C\n"), Err("wasm"));
        assert!(!FrontEnd::plain("pulseboard").hashed);
    }

    #[test]
    fn the_links_name_the_files_and_hydrate() {
        let front_end = FrontEnd::hashed("pulseboard", HASHES).unwrap();
        let html = view! { <FrontEndLinks front_end pkg_dir="pkg".to_string()/> }.to_html();
        assert!(html.contains(r#"href="/pkg/pulseboard.CCCCCCCCCCCCCCCCCCCCCC.css""#), "{html}");
        assert!(html.contains(r#"href="/pkg/pulseboard.JJJJJJJJJJJJJJJJJJJJJJ.js""#), "{html}");
        assert!(html.contains(r#"href="/pkg/pulseboard.WWWWWWWWWWWWWWWWWWWWWW.wasm""#), "{html}");
        assert!(
            html.contains(r#"("", "pkg", "pulseboard.JJJJJJJJJJJJJJJJJJJJJJ", "pulseboard.WWWWWWWWWWWWWWWWWWWWWW");"#),
            "{html}"
        );
    }
}
