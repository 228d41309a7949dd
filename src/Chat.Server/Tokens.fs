namespace Chat.Server

open System
open System.Security.Cryptography
open System.Text
open Chat.Domain

/// Resume tokens: made here, stored by their hash only (a random 256-bit secret needs no slow
/// hash: SHA-256 of it cannot be reversed or guessed), never logged.
module Tokens =
    /// 32 random bytes, base64url without padding: 43 characters, no spaces.
    let fresh () : ResumeToken =
        let text =
            Convert.ToBase64String(RandomNumberGenerator.GetBytes 32).TrimEnd('=').Replace('+', '-').Replace('/', '_')

        (ResumeToken.tryCreate text).Value

    /// What shared state keeps of a token: SHA-256, lower-case hex.
    let hash (token: ResumeToken) =
        SHA256.HashData(Encoding.ASCII.GetBytes(ResumeToken.value token))
        |> Convert.ToHexStringLower
