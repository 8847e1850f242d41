//! Rules for evidence files: safe names, the digest a client may send.

use base64::Engine;

/// A file name safe to store and to send back: no directories, no control
/// characters, no quotes, at most 200 characters.
pub fn safe_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';' | '\\'))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "evidence.bin".into()
    } else {
        cleaned
    }
}

/// The SHA-256 a client says it sent, from `Repr-Digest: sha-256=:<base64>:`
/// (RFC 9530) or the older `Digest: sha-256=<base64>` (RFC 3230), as lower-case hex.
pub fn client_sha256(
    repr_digest: Option<&str>,
    digest: Option<&str>,
) -> Result<Option<String>, String> {
    let candidates = [repr_digest.map(|v| (v, true)), digest.map(|v| (v, false))];
    for (value, structured) in candidates.into_iter().flatten() {
        for part in value.split(',') {
            let Some((algorithm, encoded)) = part.trim().split_once('=') else {
                continue;
            };
            if !algorithm.trim().eq_ignore_ascii_case("sha-256") {
                continue;
            }
            let encoded = encoded.trim();
            let encoded = if structured {
                encoded
                    .strip_prefix(':')
                    .and_then(|e| e.strip_suffix(':'))
                    .ok_or("Repr-Digest: the value goes between colons: sha-256=:<base64>:")?
            } else {
                encoded
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| "the sha-256 digest is not base64".to_owned())?;
            if bytes.len() != 32 {
                return Err("a sha-256 digest has 32 bytes".into());
            }
            return Ok(Some(hex(&bytes)));
        }
    }
    Ok(None)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Repr-Digest` header value for a hex SHA-256.
pub fn repr_digest(sha256_hex: &str) -> String {
    let bytes: Vec<u8> = (0..sha256_hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&sha256_hex[i..i + 2], 16).ok())
        .collect();
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_controls() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\Users\\x\\chat log.zip"), "chat log.zip");
        assert_eq!(safe_filename("a\"b;c\r\n.txt"), "abc.txt");
        assert_eq!(safe_filename(".."), "evidence.bin");
        assert_eq!(safe_filename(""), "evidence.bin");
    }

    #[test]
    fn client_digests_are_read_in_both_forms() {
        // SHA-256 of the empty input.
        let empty = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let hex_empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            client_sha256(Some(&format!("sha-256=:{empty}:")), None)
                .unwrap()
                .as_deref(),
            Some(hex_empty)
        );
        assert_eq!(
            client_sha256(None, Some(&format!("SHA-256={empty}")))
                .unwrap()
                .as_deref(),
            Some(hex_empty)
        );
        assert_eq!(client_sha256(None, Some("md5=abc")).unwrap(), None);
        assert!(client_sha256(Some("sha-256=nocolons"), None).is_err());
        assert!(client_sha256(Some("sha-256=:AAAA:"), None).is_err());
        assert_eq!(repr_digest(hex_empty), format!("sha-256=:{empty}:"));
    }
}
