namespace Chat.Server

open System.Security.Cryptography
open Org.BouncyCastle.Crypto.Generators
open Chat.Domain

/// bcrypt (`$2b$`) through BouncyCastle. Passwords reach here already limited to 72 bytes
/// (Password.tryCreate), since bcrypt would silently cut longer ones.
type Passwords(cost: int) =
    // Checked against when the user does not exist, so that an unknown user costs the same time
    // as a wrong password.
    let dummy =
        OpenBsdBCrypt.Generate("2b", "not-a-password".ToCharArray(), RandomNumberGenerator.GetBytes 16, cost)

    member _.Hash(password: Password) : string =
        OpenBsdBCrypt.Generate("2b", (Password.value password).ToCharArray(), RandomNumberGenerator.GetBytes 16, cost)

    /// False for a malformed hash too: a damaged account cannot be logged into, nor crash the session.
    member _.Verify(hash: string, password: Password) : bool =
        try
            OpenBsdBCrypt.CheckPassword(hash, (Password.value password).ToCharArray())
        with
        | :? System.ArgumentException
        | :? System.FormatException
        | :? Org.BouncyCastle.Crypto.DataLengthException -> false

    /// Spends the time of one check and answers false.
    member this.VerifyNobody(password: Password) : bool =
        this.Verify(dummy, password) |> ignore
        false
