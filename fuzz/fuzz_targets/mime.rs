//! MIME: entity parsing, multipart splitting (recursively), body decoding, header values.
#![no_main]

use cachet::mime::{self, Entity};
use libfuzzer_sys::fuzz_target;

fn walk(data: &[u8], depth: usize) {
    let Ok(entity) = Entity::parse(data) else {
        return;
    };
    for f in &entity.fields {
        let v = f.value();
        let _ = mime::first_address(&v);
        let _ = mime::parse_date(&v);
        let _ = mime::decode_words(&v);
    }
    let ct = entity.content_type();
    let _ = entity.decoded_body();
    if depth < mime::MAX_DEPTH {
        if let Some(boundary) = ct.param("boundary") {
            if let Ok(parts) = mime::split_multipart(entity.body, boundary) {
                for p in parts {
                    walk(p, depth + 1);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let crlf = mime::to_crlf(mime::strip_mbox_separator(data));
    walk(&crlf, 0);
    let _ = mime::qp_decode(data);
    let _ = mime::base64_decode(data);
});
