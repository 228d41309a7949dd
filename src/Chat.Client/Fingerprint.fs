/// SHA-256 certificate fingerprints as people copy them around: from server logs, with or without colons.
module Chat.Client.Fingerprint

open System
open System.Security.Cryptography

/// Bytes of a SHA-256 digest; a pin of any other length cannot match anything.
[<Literal>]
let Length = 32

/// Accepts `ab12...` or `AB:12:...`; None unless it is exactly 32 bytes of hex.
let tryParse (s: string) : byte array option =
    let hex = (if isNull s then "" else s.Trim()).Replace(":", "")

    if hex.Length = 2 * Length && hex |> Seq.forall Uri.IsHexDigit then
        Some(Convert.FromHexString hex)
    else
        None

/// Colon-separated upper-case hex: the form `openssl x509 -fingerprint -sha256` prints, easy to compare by eye.
let format (digest: byte array) =
    digest |> Array.map (fun b -> b.ToString "X2") |> String.concat ":"

let ofDer (der: byte array) = SHA256.HashData der

let matches (pin: byte array) (der: byte array) = ofDer der = pin
