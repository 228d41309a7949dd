namespace Chat.Server.Tests

open System
open Expecto
open Chat.Testing
open Chat.Domain

/// Direct messages over the wire: `/msg`, `DM`, the offline inbox (PROTOCOL.md "After login").
module Direct =
    /// The fields of a `DM <id> <from> <text>` line.
    let dm (line: string) =
        match ServerLine.parse line with
        | Some(Dm(id, from, text)) -> MsgId.value id, Username.value from, text
        | _ -> failwith $"not a DM line: {line}"

    /// The fields of an `OK MSG <id> <user>` line.
    let sent (line: string) =
        match ServerLine.parse line with
        | Some(Ok(DirectSent(id, user))) -> MsgId.value id, Username.value user
        | _ -> failwith $"not an OK MSG line: {line}"

    let isDm (line: string) = line.StartsWith "DM "

    /// `/msg <user> <text>`, expecting `OK MSG <id> <user>`: the id.
    let send (c: LineClient) (user: string) (text: string) =
        let id, recipient = sent (c.Command $"/msg {user} {text}")
        Expect.equal recipient (user.ToLowerInvariant()) "the recipient OK MSG names"
        id

    /// The `/msg` of each of `texts` in one write; the ids of their OK MSG, in order.
    let sendAll (c: LineClient) (user: string) (texts: string list) =
        c.SendAll [ for t in texts -> $"/msg {user} {t}" ]

        [
            for _ in texts ->
                let id, recipient = sent (c.NextReply())
                Expect.equal recipient user "the recipient OK MSG names"
                id
        ]

    /// Waits for `n` DM lines and returns every DM this client received: (id, from, text).
    let received (c: LineClient) (n: int) =
        try
            Poll.until (TimeSpan.FromSeconds 10.0) $"{c.Name}: {n} DM lines" (fun () ->
                (c.Received |> List.filter isDm).Length >= n)
        with :? TimeoutException as e ->
            failtest $"{e.Message}\n{c.Describe()}"

        c.Sync()
        c.Received |> List.filter isDm |> List.map dm

    /// Drops `c` and waits until `watcher` (in the lobby with it) sees it leave: from then on the
    /// user is offline.
    let gone (watcher: LineClient) (c: LineClient) (name: string) =
        c.Disconnect()
        watcher.Expect $"SYS LEAVE lobby {name}" |> ignore

    /// In order and once: each id later than the one before.
    let increasing (ids: string list) =
        let pos id =
            (StreamPos.tryParse id)
            |> Option.defaultWith (fun () -> failwith $"not a stream id: {id}")

        ids |> List.pairwise |> List.forall (fun (a, b) -> pos a < pos b)

module E2eDirect =
    open Direct

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eDirect" [ "--msg-rate"; "0" ] [
            case "an online recipient gets DM <id> <from> <text>; the sender OK MSG <id> <user>, the same id"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "from"
                let b, bn = this.User "to"
                let w, _ = this.User "watch"
                let text = "hello there\twith a tab, h\u00e9llo \U0001F389"
                let id = send a (bn.ToUpperInvariant()) text
                Expect.equal (b.ExpectPrefix "DM " |> dm) (id, an, text) "the DM"
                w.AssertNotReceived(isDm, "someone else's DM")
                a.AssertNotReceived(isDm, "its own DM back")
                b.AssertNotReceived((fun l -> l.StartsWith "MSG "), "the DM as a room message")

            case "an offline recipient gets them after its next OK LOGIN, oldest first, and only once"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "from"
                let b, bn = this.User "away"
                gone a b bn
                let texts = [ for i in 1..5 -> $"while away {i}" ]
                let ids = sendAll a bn texts
                let back = this.Connect "back"
                back.Login(bn, ServerFixture.Password)
                let dms = received back texts.Length
                Expect.equal dms (List.map2 (fun id t -> id, an, t) ids texts) "the kept DMs"

                let afterLogin =
                    back.Received
                    |> List.skipWhile (fun l -> l <> $"OK LOGIN {bn} lobby")
                    |> List.filter isDm

                Expect.hasLength afterLogin texts.Length "every DM after OK LOGIN"
                gone a back bn
                let again = this.Connect "again"
                again.Login(bn, ServerFixture.Password)
                again.AssertNotReceived(isDm, "a DM delivered before")
                // New ones still come, live.
                let id = send a bn "live again"
                Expect.equal (again.ExpectPrefix "DM " |> dm) (id, an, "live again") "a live DM"

            case "an offline recipient gets them after OK RESUME too"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "from"
                let b, bn = this.User "away"
                let t = Resume.token b
                gone a b bn
                let ids = sendAll a bn [ "one"; "two" ]
                let back = Resume.resumed this bn t
                Expect.equal (received back 2) (List.map2 (fun id t -> id, an, t) ids [ "one"; "two" ]) "the kept DMs"

                let resumedAt =
                    back.Received |> List.findIndex (fun l -> l = $"OK RESUME {bn} lobby")

                Expect.isTrue
                    (back.Received |> List.take resumedAt |> List.forall (isDm >> not))
                    "no DM before OK RESUME"

            case "100 DMs in a row arrive in order, live and kept, with increasing ids"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "from"
                let b, bn = this.User "to"
                let live = [ for i in 1..100 -> $"live {i}" ]
                let ids = sendAll a bn live
                Expect.isTrue (increasing ids) "the OK MSG ids increase"
                Expect.equal (received b 100) (List.map2 (fun id t -> id, an, t) ids live) "the live DMs"
                gone a b bn
                let kept = [ for i in 1..100 -> $"kept {i}" ]
                let keptIds = sendAll a bn kept
                Expect.isTrue (increasing (ids @ keptIds)) "ids increase across the login"
                let back = this.Connect "back"
                back.Login(bn, ServerFixture.Password)
                Expect.equal (received back 100) (List.map2 (fun id t -> id, an, t) keptIds kept) "the kept DMs"

            case "/msg to myself is BAD_ARGUMENT, whatever the case"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "self"

                for line in [ $"/msg {an} hi"; $"/msg {an.ToUpperInvariant()} hi" ] do
                    Expect.stringStarts (a.Command line) "ERR BAD_ARGUMENT " line

                a.AssertNotReceived(isDm, "a DM to myself")

            case "/msg to a name without an account is NO_SUCH_USER"
            <| fun (this: ServerFixture) ->
                let a, _ = this.User "lonely"
                Expect.stringStarts (a.Command "/msg nobody-has-this hi") "ERR NO_SUCH_USER " "/msg nobody"
                // Not an account later either: nothing was kept for the name.
                let c = this.Connect()
                c.Register("nobody-has-this", ServerFixture.Password)
                c.AssertNotReceived(isDm, "a DM sent before the account existed")
            yield!
                cases "a malformed /msg is BAD_ARGUMENT and nothing is delivered" [
                    "/msg"
                    "/msg {b}"
                    "/msg {b} "
                    "/msg {b}    "
                    "/msg bad!name hi"
                    "/msg {b} esc \u001bx"
                    "/msg {b} nul \u0000x"
                    "/msg {b} del \u007fx"
                    "/msg {b} c1 \u0085x"
                ]
                <| fun (this: ServerFixture) (line: string) ->
                    let a, _ = this.User "from"
                    let b, bn = this.User "to"
                    Expect.stringStarts (a.Command(line.Replace("{b}", bn))) "ERR BAD_ARGUMENT " "the reply"
                    b.AssertNotReceived(isDm, "a malformed DM")
        ]

/// `--msg-rate`: `/msg` spends the bucket room messages spend.
module E2eDirectRate =
    open Direct

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eDirectRate" [ "--msg-rate"; "1" ] [
            case "room messages and /msg share one bucket: past the burst, /msg is RATE_LIMITED, and not delivered"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "chatty"
                let b, bn = this.User "to"
                // A burst of 2 at 1 per second: one room message and one /msg spend it.
                a.SendAll [ "in the room"; $"/msg {bn} first"; $"/msg {bn} second"; "room again" ]
                a.ExpectMatch(Lines.isMsgFrom an, "the room message") |> ignore
                let _, to' = sent (a.NextReply())
                Expect.equal to' bn "the first /msg is sent"
                Expect.stringStarts (a.NextReply()) "ERR RATE_LIMITED " "the second /msg"
                Expect.stringStarts (a.NextReply()) "ERR RATE_LIMITED " "the room message after it"
                Expect.equal (received b 1 |> List.map (fun (_, _, t) -> t)) [ "first" ] "what the recipient got"
        ]
