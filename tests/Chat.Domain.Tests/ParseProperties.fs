/// Properties of `Protocol.parse`: total, and faithful to what a client types.
module Chat.Domain.Tests.ParseProperties

open System
open FsCheck
open Chat.Domain
open Chat.Domain.Tests.Builders

[<ChatProperty>]
let ``parse is total on any string`` (line: string option) =
    // FsCheck's strings include control characters but never null: None stands for null.
    Protocol.parse (Option.toObj line) |> ignore

[<ChatProperty>]
let ``parse is total on any safe text`` (SafeText line) = Protocol.parse line |> ignore

[<ChatProperty>]
let ``a line without a leading slash or keyword is said verbatim`` (NonBlankText text) =
    let line = "x" + text
    Protocol.parse line = Some(Result.Ok(Say line))

[<ChatProperty>]
let ``a double-slash line says the line without its first slash`` (SafeText text) =
    Protocol.parse ("//" + text) = Some(Result.Ok(Say("/" + text)))

[<ChatProperty>]
let ``LOGIN parses any valid username and password`` (u: Username, NonNegativeInt n) =
    // Passwords that start with a space lose it: the spaces after the username are skipped.
    let pw = "p" + String('x', n % 71)
    let spelled = (Username.value u).ToUpperInvariant()
    Protocol.parse $"LOGIN {spelled} {pw}" = Some(Result.Ok(Login(u, password pw)))

[<ChatProperty>]
let ``join parses any valid room name`` (r: RoomName) =
    Protocol.parse $"/join {(RoomName.value r).ToUpperInvariant()}" = Some(Result.Ok(Join r))

[<ChatProperty>]
let ``history is always between 1 and 100`` (n: int) =
    match Protocol.parse $"/history {n}" with
    | Some(Result.Ok(History k)) -> n > 0 && k = min n 100
    | Some(Result.Error(BadArgument(VHistory, _))) -> n <= 0
    | _ -> false

[<ChatProperty>]
let ``publish carries its text`` (NonBlankText text) =
    let text = text.TrimStart ' '
    Protocol.parse ("/publish " + text) = Some(Result.Ok(Publish text))

[<ChatProperty>]
let ``passwords over 72 bytes are refused, never cut`` (u: Username, PositiveInt extra) =
    let pw = String('€', 24) + String('x', extra % 200)

    Protocol.parse $"REGISTER {Username.value u} {pw}"
    |> Option.exists (function
        | Result.Error(BadArgument(VRegister, _)) -> true
        | _ -> false)

[<ChatProperty>]
let ``a slash word that names no command is an unknown command`` (u: Username, SafeText rest) =
    let word = "x-" + Username.value u
    Protocol.parse $"/{word} {rest}" = Some(Result.Error(UnknownCommand("/" + word)))
