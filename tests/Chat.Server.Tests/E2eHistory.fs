namespace Chat.Server.Tests

open System
open Expecto
open Chat.Testing

/// `/history [n]` (PROTOCOL.md "After login"), and `--history`.
module E2eHistory =
    /// Sends `texts` to the room in one write and returns the MSG ids the sender saw, in order.
    let private say (c: LineClient) (room: string) (texts: string list) =
        c.SendAll texts

        [
            for t in texts ->
                let r, id, _, text =
                    c.ExpectMatch((fun l -> l.StartsWith $"MSG {room} " && l.EndsWith $" {t}"), t)
                    |> Lines.msg

                Expect.equal (r, text) (room, t) "(r, text)"
                id
        ]

    let private history (c: LineClient) (command: string) =
        c.Clear()
        let reply = c.Command command
        reply, c.TakeAll(fun l -> l.StartsWith "HIST ") |> List.map Lines.hist

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eHistory" [ "--msg-rate"; "0" ] [
            case "/history: the last 20 by default, oldest first, with the MSG ids, then OK HISTORY <count>"
            <| fun (this: ServerFixture) ->
                let room = this.Name "hist"
                let a, an = this.UserIn("a", room)
                let before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()
                let texts = [ for i in 1..25 -> $"message {i}" ]
                let ids = say a room texts
                let after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()
                let reply, lines = history a "/history"
                Expect.equal reply "OK HISTORY 20" "reply"

                Expect.equal
                    (lines |> List.map (fun (_, _, _, _, t) -> t))
                    (List.skip 5 texts)
                    "lines |> List.map (fun (_, _, _, _, t) -> t)"

                Expect.equal
                    (lines |> List.map (fun (_, id, _, _, _) -> id))
                    (List.skip 5 ids)
                    "lines |> List.map (fun (_, id, _, _, _) -> id)"

                for r, _, from, ms, _ in lines do
                    Expect.equal (r, from) (room, an) "(r, from)"
                    Expect.inRange ms (before - 5_000L) (after + 5_000L) "ms"

                Expect.hasLength (List.distinct ids) 25 "ids are unique within the room"

            case "/history n gives the last n; more than 100 gives 100"
            <| fun (this: ServerFixture) ->
                let room = this.Name "hist"
                let a, _ = this.UserIn("a", room)
                let texts = [ for i in 1..105 -> $"line {i}" ]
                let ids = say a room texts
                let reply, lines = history a "/history 3"
                Expect.equal reply "OK HISTORY 3" "reply"

                Expect.equal
                    (lines |> List.map (fun (_, id, _, _, t) -> id, t))
                    (List.zip ids texts |> List.skip 102)
                    "lines |> List.map (fun (_, id, _, _, t) -> id, t)"

                let reply, lines = history a "/history 500"
                Expect.equal reply "OK HISTORY 100" "reply"

                Expect.equal
                    (lines |> List.map (fun (_, _, _, _, t) -> t))
                    (List.skip 5 texts)
                    "lines |> List.map (fun (_, _, _, _, t) -> t)"

            case "/history shows everyone's messages of my room only, //text as /text"
            <| fun (this: ServerFixture) ->
                let room, other = this.Name "mine", this.Name "theirs"
                let a, an = this.UserIn("a", room)
                let b, bn = this.UserIn("b", room)
                let c, _ = this.UserIn("c", other)
                say c other [ "not here" ] |> ignore
                let first = say a room [ "first" ]
                b.ExpectMatch((fun l -> l.EndsWith " first"), "first") |> ignore
                b.Send "//second"

                let _, secondId, _, _ =
                    a.ExpectMatch((fun l -> l.EndsWith " /second"), "/second") |> Lines.msg

                let reply, lines = history b "/history 10"
                Expect.equal reply "OK HISTORY 2" "reply"
                let shown = lines |> List.map (fun (r, id, from, _, text) -> r, id, from, text)
                Expect.equal shown ([ room, first.Head, an, "first"; room, secondId, bn, "/second" ]) "shown"

            case "/history of a room without messages is OK HISTORY 0"
            <| fun (this: ServerFixture) ->
                let a, _ = this.UserIn("a", this.Name "quiet")
                let reply, lines = history a "/history"
                Expect.equal reply "OK HISTORY 0" "reply"
                Expect.isEmpty lines "lines"
            yield!
                cases "a malformed /history count is BAD_ARGUMENT" [
                    "/history abc"
                    "/history -1"
                    "/history 2 3"
                    "/history 1.5"
                ]
                <| fun (this: ServerFixture) (line: string) ->
                    let a, _ = this.User "a"
                    Expect.stringStarts (a.Command line) "ERR BAD_ARGUMENT " "a.Command line"
        ]

/// `--history <n>`: messages kept per room.
module E2eHistoryLimit =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eHistoryLimit" [ "--history"; "5"; "--msg-rate"; "0" ] [
            case "--history 5 keeps the last 5 messages of a room"
            <| fun (this: ServerFixture) ->

                let room = this.Name "short"
                let a, _ = this.UserIn("a", room)
                a.SendAll [ for i in 1..8 -> $"kept? {i}" ]
                a.ExpectMatch((fun l -> l.EndsWith " kept? 8"), "the last message") |> ignore
                a.Clear()
                Expect.equal (a.Command "/history 100") "OK HISTORY 5" "a.Command '/history 100'"

                let texts =
                    a.TakeAll(fun l -> l.StartsWith "HIST ")
                    |> List.map (fun l -> let _, _, _, _, t = Lines.hist l in t)

                Expect.equal texts ([ for i in 4..8 -> $"kept? {i}" ]) "texts"
        ]
