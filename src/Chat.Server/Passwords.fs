namespace Chat.Server

open Chat.Domain

/// bcrypt (`$2b$`) through BCrypt.Net-Next. Passwords reach here already limited to 72 bytes
/// (Password.tryCreate), since bcrypt would silently cut longer ones.
type Passwords(cost: int) =
    let hash (password: string) =
        BCrypt.Net.BCrypt.HashPassword(password, BCrypt.Net.BCrypt.GenerateSalt(cost, 'b'))

    // Checked against when the user does not exist, so that an unknown user costs the same time
    // as a wrong password.
    let dummy = hash "not-a-password"

    member _.Hash(password: Password) : string = hash (Password.value password)

    /// False for a malformed hash too: a damaged account cannot be logged into, nor crash the
    /// session. The library throws several unrelated types for one (SaltParseException,
    /// ArgumentException, ...), so every exception of the check is a mismatch.
    member _.Verify(hash: string, password: Password) : bool =
        try
            BCrypt.Net.BCrypt.Verify(Password.value password, hash)
        with _ ->
            false

    /// Spends the time of one check and answers false.
    member this.VerifyNobody(password: Password) : bool =
        this.Verify(dummy, password) |> ignore
        false
