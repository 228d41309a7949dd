/// Properties of `Protocol.parse`: total, and faithful to what a client types.
module Chat.Domain.Tests.ParseProperties

open System
open FsCheck
open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders

[<Tests>]
let tests =
    testList "ParseProperties" [

        chatProperty "parse is total on any string" (fun (line: string option) ->
            // FsCheck's strings include control characters but never null: None stands for null.
            Protocol.parse (Option.toObj line) |> ignore)

        chatProperty "parse is total on any safe text" (fun (SafeText line) -> Protocol.parse line |> ignore)

        chatProperty "a line without a leading slash or keyword is said verbatim" (fun (NonBlankText text) ->
            let line = "x" + text
            Protocol.parse line = Some(Result.Ok(Say line)))

        chatProperty "a double-slash line says the line without its first slash" (fun (SafeText text) ->
            Protocol.parse ("//" + text) = Some(Result.Ok(Say("/" + text))))

        chatProperty "LOGIN parses any valid username and password" (fun (u: Username, NonNegativeInt n) ->
            // Passwords that start with a space lose it: the spaces after the username are skipped.
            let pw = "p" + String('x', n % 71)
            let spelled = (Username.value u).ToUpperInvariant()
            Protocol.parse $"LOGIN {spelled} {pw}" = Some(Result.Ok(Login(u, password pw))))

        chatProperty "join parses any valid room name" (fun (r: RoomName) ->
            Protocol.parse $"/join {(RoomName.value r).ToUpperInvariant()}" = Some(Result.Ok(Join r)))

        chatProperty "history is always between 1 and 100" (fun (n: int) ->
            match Protocol.parse $"/history {n}" with
            | Some(Result.Ok(History k)) -> n > 0 && k = min n 100
            | Some(Result.Error(BadArgument(VHistory, _))) -> n <= 0
            | _ -> false)

        chatProperty "RESUME parses any valid username and token" (fun (u: Username, t: ResumeToken) ->
            let spelled = (Username.value u).ToUpperInvariant()
            Protocol.parse $"RESUME {spelled} {ResumeToken.value t}" = Some(Result.Ok(Command.Resume(u, t))))

        chatProperty "msg carries its recipient and its text" (fun (u: Username, NonBlankText text) ->
            let text = text.TrimStart ' '
            Protocol.parse $"/msg {Username.value u} {text}" = Some(Result.Ok(Direct(u, text))))

        chatProperty
            "history pages take any stream id, the count between 1 and 100"
            (fun (ms: int64, seq: int64, n: int) ->
                let ms, seq = abs (ms % 10_000_000_000_000L), abs (seq % 1000L)
                let id = MsgId.tryCreate $"{ms}-{seq}" |> Option.get

                match
                    Protocol.parse $"/history after {ms}-{seq} {n}", Protocol.parse $"/history before {ms}-{seq} {n}"
                with
                | Some(Result.Ok(HistoryAfter(a, k))), Some(Result.Ok(HistoryBefore(b, k'))) ->
                    n > 0 && a = id && b = id && k = min n 100 && k' = k
                | Some(Result.Error(BadArgument(VHistory, _))), Some(Result.Error(BadArgument(VHistory, _))) -> n <= 0
                | _ -> false)

        chatProperty "a history id that is a stream id is kept as its canonical spelling" (fun (id: MsgId) ->
            match Protocol.parse $"/history before {MsgId.value id}", StreamPos.tryParse (MsgId.value id) with
            | Some(Result.Ok(HistoryBefore(parsed, 20))), Some pos -> MsgId.value parsed = StreamPos.render pos
            | Some(Result.Error(BadArgument(VHistory, _))), None -> true
            | _ -> false)

        chatProperty "publish carries its text" (fun (NonBlankText text) ->
            let text = text.TrimStart ' '
            Protocol.parse ("/publish " + text) = Some(Result.Ok(Publish text)))

        chatProperty "passwords over 72 bytes are refused, never cut" (fun (u: Username, PositiveInt extra) ->
            let pw = String('€', 24) + String('x', extra % 200)

            Protocol.parse $"REGISTER {Username.value u} {pw}"
            |> Option.exists (function
                | Result.Error(BadArgument(VRegister, _)) -> true
                | _ -> false))

        chatProperty "a slash word that names no command is an unknown command" (fun (u: Username, SafeText rest) ->
            let word = "x-" + Username.value u
            Protocol.parse $"/{word} {rest}" = Some(Result.Error(UnknownCommand("/" + word))))
    ]
