//! MIME: entity parsing, multipart splitting (recursively), body decoding, header values; and
//! the split and `seal`'s header protection of a message read in pieces (`mime::skeleton`),
//! which must agree with those of the whole message whenever they answer.
#![no_main]

use cachet::mime::{self, skeleton::Skeleton, Entity};
use cachet::smime::envelope::{split_message_in_place, split_skeleton};
use cachet::smime::protect::{self, Mode, Policy};
use cachet::smime::{detached_content, Detached};
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

fn read(data: &[u8], piece: usize) -> Skeleton {
    let mut skeleton = Skeleton::new();
    for p in data.chunks(piece) {
        if !skeleton.feed(p) {
            break;
        }
    }
    skeleton
}

/// The skeleton's split and detached content (pieces of a size the input picks) against the
/// whole message's.
fn skeleton_agrees(data: &[u8]) {
    let piece = 1 + usize::from(data.first().copied().unwrap_or(0)) % 97;
    if let Some(found) = read(data, piece).finish().as_ref().and_then(Detached::find) {
        let (start, end, digests) =
            detached_content(data).expect("a stand-in where the message has no detached content");
        assert_eq!(found.content, start..end);
        assert_eq!(found.digests, digests);
    }
    let Ok(Some(split)) = split_skeleton(read(data, piece)) else {
        return;
    };
    let whole = split_message_in_place(data).expect("the skeleton split what the parser refuses");
    assert_eq!(split.outer, whole.outer);
    assert_eq!(split.head, whole.head);
    assert_eq!(split.body, whole.body);
}

/// Header protection from the stand-in against the whole message's (the variant, and the
/// piece size, picked by the input).
fn protection_agrees(data: &[u8]) {
    let pick = data.get(1).copied().unwrap_or(0);
    let mode = if pick & 1 == 0 {
        Mode::Cipher
    } else {
        Mode::Clear
    };
    let policy =
        [Policy::Baseline, Policy::Shy, Policy::NoConfidentiality][usize::from(pick >> 1) % 3];
    let legacy = pick & 0x80 == 0;
    let piece = 1 + usize::from(data.first().copied().unwrap_or(0)) % 97;
    let Some(stand_in) = read(data, piece).finish() else {
        return;
    };
    let Ok(Some(spliced)) = protect::protect_stand_in(&stand_in, mode, policy, legacy) else {
        return;
    };
    let (outer, payload) = protect::protect(data, mode, policy, legacy)
        .expect("the stand-in protected what the parser refuses");
    assert_eq!(spliced.outer, outer);
    let tail = data.get(spliced.start..).expect("start within the message");
    assert_eq!([&spliced.prefix[..], tail].concat(), payload);
}

fuzz_target!(|data: &[u8]| {
    let crlf = mime::to_crlf(mime::strip_mbox_separator(data));
    walk(&crlf, 0);
    skeleton_agrees(data);
    skeleton_agrees(&crlf);
    protection_agrees(&crlf);
    let _ = mime::qp_decode(data);
    let _ = mime::base64_decode(data);
});
