//! `/graphiql` and its scripts and styles, all served from the binary (see
//! `assets/graphiql/README.md` for what the files are and where they came from), so the
//! page works on a network with no way out, under a policy that allows this server's own
//! origin only.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::Digest;

/// The page's content security policy: scripts, styles and requests from this server
/// only. Fonts and the few images come inline in the stylesheet (`data:` URLs); there
/// is no inline script or style.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Vendored files: their paths carry their versions, so they may be cached for a year.
const VENDORED: [(&str, &[u8], &str); 4] = [
    (
        "graphiql-4.1.2/graphiql.min.js",
        include_bytes!("../../assets/graphiql/graphiql-4.1.2/graphiql.min.js"),
        JAVASCRIPT,
    ),
    (
        "graphiql-4.1.2/graphiql.min.css",
        include_bytes!("../../assets/graphiql/graphiql-4.1.2/graphiql.min.css"),
        CSS,
    ),
    (
        "react-18.3.1/react.production.min.js",
        include_bytes!("../../assets/graphiql/react-18.3.1/react.production.min.js"),
        JAVASCRIPT,
    ),
    (
        "react-dom-18.3.1/react-dom.production.min.js",
        include_bytes!("../../assets/graphiql/react-dom-18.3.1/react-dom.production.min.js"),
        JAVASCRIPT,
    ),
];

const PAGE_HTML: &str = include_str!("../../assets/graphiql/index.html");
const PAGE_SCRIPT: &[u8] = include_bytes!("../../assets/graphiql/ecoplan-graphiql.js");
const PAGE_STYLE: &[u8] = include_bytes!("../../assets/graphiql/ecoplan-graphiql.css");

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const FOR_A_YEAR: &str = "public, max-age=31536000, immutable";

/// One file under `/graphiql/assets/`.
struct Asset {
    path: String,
    bytes: &'static [u8],
    content_type: &'static str,
}

struct Assets {
    html: String,
    files: Vec<Asset>,
}

/// The page's own script and style are named after their contents, so they too may be
/// cached for a year and a new build is fetched at once.
fn content_named(stem: &str, extension: &str, bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{stem}-{short}.{extension}")
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let script = content_named("ecoplan-graphiql", "js", PAGE_SCRIPT);
        let style = content_named("ecoplan-graphiql", "css", PAGE_STYLE);
        let html = PAGE_HTML
            .replace("{{page.js}}", &script)
            .replace("{{page.css}}", &style);
        let mut files: Vec<Asset> = VENDORED
            .iter()
            .map(|(path, bytes, content_type)| Asset {
                path: (*path).to_owned(),
                bytes,
                content_type,
            })
            .collect();
        files.push(Asset {
            path: script,
            bytes: PAGE_SCRIPT,
            content_type: JAVASCRIPT,
        });
        files.push(Asset {
            path: style,
            bytes: PAGE_STYLE,
            content_type: CSS,
        });
        Assets { html, files }
    })
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/graphiql", web::get().to(page))
        .route("/graphiql/assets/{path:.*}", web::get().to(asset));
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(assets().html.as_str())
}

async fn asset(path: web::Path<String>) -> HttpResponse {
    match assets().files.iter().find(|asset| asset.path == *path) {
        Some(asset) => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, FOR_A_YEAR))
            .body(asset.bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain")
            .body("not found"),
    }
}
