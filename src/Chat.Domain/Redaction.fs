/// Keeping the Redis password out of what the server prints: the `--redis` configuration string
/// (StackExchange.Redis' `host:port,option=value,...`) and any text that may quote it.
module Chat.Domain.Redaction

open System
open System.Text.RegularExpressions

/// What a redacted value reads as.
[<Literal>]
let Mask = "***"

/// The options whose values are secret: the ACL or `requirepass` password. (The library takes
/// option names in any case; `user=` is not secret.)
let private isSecret (name: string) =
    String.Equals(name.Trim(), "password", StringComparison.OrdinalIgnoreCase)

/// The option's name and value, split at its first '=' as the library splits it; None for an
/// endpoint (no '=').
let private option (part: string) =
    match part.IndexOf '=' with
    | -1 -> None
    | i -> Some(part.Substring(0, i), part.Substring(i + 1))

/// The secret values a configuration string holds (each `password=` option's, trimmed as the
/// library trims them; empty ones left out).
let secrets (configuration: string) : string list =
    if isNull configuration then
        []
    else
        configuration.Split ','
        |> Seq.choose option
        |> Seq.filter (fst >> isSecret)
        |> Seq.map (snd >> _.Trim())
        |> Seq.filter (fun v -> v <> "")
        |> Seq.distinct
        |> List.ofSeq

/// The configuration string with every `password=` option's value replaced by `***`, the rest as
/// given (endpoints, other options, their order and spacing).
let configuration (configuration: string) : string =
    if isNull configuration then
        configuration
    else
        configuration.Split ','
        |> Array.map (fun part ->
            match option part with
            | Some(name, value) when isSecret name && value.Trim() <> "" -> name + "=" + Mask
            | _ -> part)
        |> String.concat ","

// `password=<value>` as it appears in a configuration string quoted inside other text: the value
// runs to the next ',' or white space.
let private inlineOption =
    Regex(@"(?i)\bpassword\s*=\s*[^,\s]+", RegexOptions.Compiled ||| RegexOptions.CultureInvariant)

/// `text` with each of `secrets` replaced by `***` wherever it occurs, and any `password=<value>`
/// (a configuration string quoted in a library's message) masked too. For log lines and error
/// messages, which may quote a library's exception.
let text (secrets: string list) (text: string) : string =
    if String.IsNullOrEmpty text then
        text
    else
        let masked =
            secrets
            |> List.filter (fun s -> s <> "")
            // Longest first: a secret that contains another is replaced whole.
            |> List.sortByDescending _.Length
            |> List.fold (fun (t: string) s -> t.Replace(s, Mask, StringComparison.Ordinal)) text

        inlineOption.Replace(masked, fun m -> m.Value.Substring(0, m.Value.IndexOf '=' + 1) + Mask)
