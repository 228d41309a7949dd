namespace Chat.Domain

open System

/// Character classes of the protocol's names, kept in one place so every entry point agrees.
module internal NameRules =
    let isWordChar (c: char) =
        (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c = '_'

    /// Whether every character of `s` from index `i` on is `ok`.
    let rec private allFrom (ok: char -> bool) (s: string) (i: int) =
        i >= s.Length || (ok s[i] && allFrom ok s (i + 1))

    /// `[first][rest]{0,maxRest}`, ASCII only.
    let matches (rest: char -> bool) (maxLength: int) (s: string) =
        not (isNull s)
        && s.Length >= 1
        && s.Length <= maxLength
        && isWordChar s[0]
        && allFrom rest s 1

/// A user name: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}`, folded to lower case.
type Username = private Username of string

module Username =
    let private isRest c =
        NameRules.isWordChar c || c = '.' || c = '-'

    let tryCreate (s: string) : Username option =
        if NameRules.matches isRest 32 s then
            Some(Username(s.ToLowerInvariant()))
        else
            None

    let value (Username s) = s

/// A room name: `[A-Za-z0-9_][A-Za-z0-9_.#-]{0,63}`, folded to lower case.
type RoomName = private RoomName of string

module RoomName =
    let private isRest c =
        NameRules.isWordChar c || c = '.' || c = '#' || c = '-'

    let tryCreate (s: string) : RoomName option =
        if NameRules.matches isRest 64 s then
            Some(RoomName(s.ToLowerInvariant()))
        else
            None

    let value (RoomName s) = s

    /// Where every session starts and where `/leave` goes.
    let lobby = RoomName "lobby"

/// A password as typed: 1 to 72 bytes of UTF-8, bcrypt's limit (longer ones are refused, never cut).
type Password = private Password of string

/// Why a password was refused.
type PasswordError =
    | Empty
    | TooLong of bytes: int

module Password =
    [<Literal>]
    let MaxBytes = 72

    let tryCreate (s: string) : Result<Password, PasswordError> =
        if String.IsNullOrEmpty s then
            Error Empty
        else
            let n = Text.Encoding.UTF8.GetByteCount s
            if n > MaxBytes then Error(TooLong n) else Ok(Password s)

    let value (Password s) = s

    /// Length in characters (Unicode code points, so 😀 counts once), for the REGISTER minimum.
    let length (Password s) = s.EnumerateRunes() |> Seq.length

/// A resume token as a client presents it (`RESUME <user> <token>`): 16 to 256 characters of
/// base64url. The server's own tokens are 43 (32 random bytes); only their SHA-256 is stored.
type ResumeToken = private ResumeToken of string

module ResumeToken =
    let tryCreate (s: string) : ResumeToken option =
        if
            isNull s
            || s.Length < 16
            || s.Length > 256
            || s
               |> String.exists (fun c -> not (Char.IsAsciiLetterOrDigit c || c = '-' || c = '_'))
        then
            None
        else
            Some(ResumeToken s)

    let value (ResumeToken s) = s

/// An opaque message id: unique within its room (MSG) or its publisher (PUB), no spaces.
type MsgId = private MsgId of string

module MsgId =
    let tryCreate (s: string) : MsgId option =
        if
            String.IsNullOrEmpty s
            || s.Length > 64
            || s |> String.exists (fun c -> c <= ' ' || c > '~')
        then
            None
        else
            Some(MsgId s)

    let value (MsgId s) = s

/// Identifies one login session across all instances; fences late cleanups.
type SessionId = private SessionId of string

module SessionId =
    let tryCreate (s: string) : SessionId option =
        if
            String.IsNullOrEmpty s
            || s.Length > 64
            || s |> String.exists (fun c -> not (Char.IsAsciiLetterOrDigit c || c = '-'))
        then
            None
        else
            Some(SessionId s)

    let value (SessionId s) = s
