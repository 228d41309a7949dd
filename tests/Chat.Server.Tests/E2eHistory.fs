namespace Chat.Server.Tests

open System
open NUnit.Framework

/// `/history [n]` (PROTOCOL.md "After login"), and `--history`.
[<TestFixture>]
type E2eHistory() =
    inherit ServerFixture([ "--msg-rate"; "0" ])

    /// Sends `texts` to the room in one write and returns the MSG ids the sender saw, in order.
    let say (c: TestClient) (room: string) (texts: string list) =
        c.SendAll texts

        [
            for t in texts ->
                let r, id, _, text =
                    c.ExpectMatch((fun l -> l.StartsWith $"MSG {room} " && l.EndsWith $" {t}"), t)
                    |> Lines.msg

                Assert.That((r, text), Is.EqualTo((room, t)))
                id
        ]

    let history (c: TestClient) (command: string) =
        c.Clear()
        let reply = c.Command command
        reply, c.TakeAll(fun l -> l.StartsWith "HIST ") |> List.map Lines.hist

    [<Test>]
    member this.``/history: the last 20 by default, oldest first, with the MSG ids, then OK HISTORY <count>``() =
        let room = this.Name "hist"
        let a, an = this.UserIn("a", room)
        let before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()
        let texts = [ for i in 1..25 -> $"message {i}" ]
        let ids = say a room texts
        let after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()
        let reply, lines = history a "/history"
        Assert.That(reply, Is.EqualTo "OK HISTORY 20")
        Assert.That(lines |> List.map (fun (_, _, _, _, t) -> t), Is.EqualTo(box (List.skip 5 texts)))
        Assert.That(lines |> List.map (fun (_, id, _, _, _) -> id), Is.EqualTo(box (List.skip 5 ids)))

        for r, _, from, ms, _ in lines do
            Assert.That((r, from), Is.EqualTo((room, an)))
            Assert.That(ms, Is.InRange(before - 5_000L, after + 5_000L))

        Assert.That(List.distinct ids, Has.Length.EqualTo 25, "ids are unique within the room")

    [<Test>]
    member this.``/history n gives the last n; more than 100 gives 100``() =
        let room = this.Name "hist"
        let a, _ = this.UserIn("a", room)
        let texts = [ for i in 1..105 -> $"line {i}" ]
        let ids = say a room texts
        let reply, lines = history a "/history 3"
        Assert.That(reply, Is.EqualTo "OK HISTORY 3")

        Assert.That(
            lines |> List.map (fun (_, id, _, _, t) -> id, t),
            Is.EqualTo(box (List.zip ids texts |> List.skip 102))
        )

        let reply, lines = history a "/history 500"
        Assert.That(reply, Is.EqualTo "OK HISTORY 100")
        Assert.That(lines |> List.map (fun (_, _, _, _, t) -> t), Is.EqualTo(box (List.skip 5 texts)))

    [<Test>]
    member this.``/history shows everyone's messages of my room only, //text as /text``() =
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
        Assert.That(reply, Is.EqualTo "OK HISTORY 2")
        let shown = lines |> List.map (fun (r, id, from, _, text) -> r, id, from, text)
        Assert.That(shown, Is.EqualTo(box [ room, first.Head, an, "first"; room, secondId, bn, "/second" ]))

    [<Test>]
    member this.``/history of a room without messages is OK HISTORY 0``() =
        let a, _ = this.UserIn("a", this.Name "quiet")
        let reply, lines = history a "/history"
        Assert.That(reply, Is.EqualTo "OK HISTORY 0")
        Assert.That(lines, Is.Empty)

    [<TestCase("/history abc")>]
    [<TestCase("/history -1")>]
    [<TestCase("/history 2 3")>]
    [<TestCase("/history 1.5")>]
    member this.``a malformed /history count is BAD_ARGUMENT``(line: string) =
        let a, _ = this.User "a"
        Assert.That(a.Command line, Does.StartWith "ERR BAD_ARGUMENT ")

/// `--history <n>`: messages kept per room.
[<TestFixture>]
type E2eHistoryLimit() =
    inherit ServerFixture([ "--history"; "5"; "--msg-rate"; "0" ])

    [<Test>]
    member this.``--history 5 keeps the last 5 messages of a room``() =
        let room = this.Name "short"
        let a, _ = this.UserIn("a", room)
        a.SendAll [ for i in 1..8 -> $"kept? {i}" ]
        a.ExpectMatch((fun l -> l.EndsWith " kept? 8"), "the last message") |> ignore
        a.Clear()
        Assert.That(a.Command "/history 100", Is.EqualTo "OK HISTORY 5")

        let texts =
            a.TakeAll(fun l -> l.StartsWith "HIST ")
            |> List.map (fun l -> let _, _, _, _, t = Lines.hist l in t)

        Assert.That(texts, Is.EqualTo(box [ for i in 4..8 -> $"kept? {i}" ]))
