namespace Chat.Client

open System.Security.Cryptography.X509Certificates

/// How the server's certificate is accepted.
type Trust =
    /// The operating system's trust store, as a browser would.
    | SystemStore
    /// Certificates from a PEM file: a CA, or the server's self-signed certificate itself.
    | CaFile of path: string
    /// Exactly one certificate, whoever signed it and whatever names it carries.
    | Pinned of sha256: byte array

/// What the server showed, so that a refusal can say what it refused.
type Presented = {
    Fingerprint: string
    /// DNS names and IP addresses of the subject alternative name extension.
    Names: string list
}

/// Why no session was started; each case knows its fix.
type ConnectError =
    | CannotConnect of host: string * port: int * reason: string
    | NoCertificate
    | Untrusted of problems: X509ChainStatusFlags list * Presented
    | WrongName of host: string * Presented
    | WrongPin of Presented
    | HandshakeFailed of host: string * port: int * reason: string
    | BadCaFile of path: string * reason: string

module ConnectError =
    let private problem (flag: X509ChainStatusFlags) =
        match flag with
        | X509ChainStatusFlags.UntrustedRoot -> "unknown or self-signed issuer"
        | X509ChainStatusFlags.PartialChain -> "issuer not found"
        | X509ChainStatusFlags.NotTimeValid -> "expired or not yet valid"
        | X509ChainStatusFlags.NotSignatureValid -> "bad signature"
        | X509ChainStatusFlags.Revoked -> "revoked"
        | X509ChainStatusFlags.NotValidForUsage -> "not valid for TLS servers"
        | other -> string other

    let private problems flags =
        match flags |> List.map problem |> List.distinct with
        | [] -> ""
        | ps -> " (" + String.concat ", " ps + ")"

    let private pinFix = "--pin <fingerprint printed by the server>"

    /// One line for stderr. `localCert` is a server certificate lying in the working directory: the likely
    /// answer when testing against a local server, offered as a fix instead of being trusted behind the user's back.
    let explain (trust: Trust) (localCert: string option) (error: ConnectError) =
        match error with
        | CannotConnect(host, port, reason) -> $"cannot connect to {host}:{port}: {reason}"
        | HandshakeFailed(host, port, reason) -> $"TLS handshake with {host}:{port} failed: {reason}"
        | BadCaFile(path, reason) -> $"cannot use --ca {path}: {reason}"
        | NoCertificate -> "the server sent no certificate, so it cannot be verified"
        | Untrusted(flags, presented) ->
            let fix =
                match trust, localCert with
                | CaFile path, _ ->
                    $"pass --ca with the CA that issued it (or the server's own certificate) instead of {path}, or {pinFix}"
                | _, Some cert -> $"pass --ca {cert} or {pinFix}"
                | _ -> $"pass --ca <CA or server certificate file> or {pinFix}"

            let by =
                match trust with
                | CaFile path -> $" by {path}"
                | _ -> ""

            $"certificate not trusted{by}{problems flags}: {fix}; it has SHA-256 {presented.Fingerprint}"
        | WrongName(host, presented) ->
            let names =
                match presented.Names with
                | [] -> "no host names"
                | ns -> String.concat ", " ns

            $"certificate is not valid for {host} (it names {names}): connect with --host set to one of its names, or {pinFix}"
        | WrongPin presented ->
            $"certificate does not match --pin: the server presented SHA-256 {presented.Fingerprint}; compare it with the fingerprint the server printed"
