namespace Chat.Server.Tests

open Expecto
open Chat.Testing

/// /subscribe, /unsubscribe, /subs, /publish, and per-publisher order (PROTOCOL.md "After login",
/// "Guarantees").
module E2ePubSub =
    /// A registered account that is not online.
    let private offline (this: ServerFixture) (prefix: string) =
        let c, name = this.User prefix
        Expect.equal (c.Command "/quit") "OK QUIT" "c.Command '/quit'"
        c.WaitClosed()
        name

    [<Tests>]
    let tests =
        ServerSuite.tests "E2ePubSub" [ "--msg-rate"; "0" ] [
            case "/subscribe: NO_SUCH_USER for an unknown user, BAD_ARGUMENT for myself or no name"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "a"

                Expect.stringStarts
                    (a.Command "/subscribe nobody-at-all")
                    "ERR NO_SUCH_USER "
                    "a.Command '/subscribe nobody-at-all'"

                for line in
                    [
                        $"/subscribe {an}"
                        $"/subscribe {an.ToUpperInvariant()}"
                        "/subscribe"
                        "/subscribe bad!name"
                        "/subscribe x y"
                    ] do
                    Expect.stringStarts (a.Command line) "ERR BAD_ARGUMENT " line

                Expect.equal (a.Command "/subs") "OK SUBS" "a.Command '/subs'"

            case "/subscribe to an offline user is OK, folded to lower case"
            <| fun (this: ServerFixture) ->
                let target = offline this "Off"
                let a, _ = this.User "a"

                Expect.equal
                    (a.Command $"/subscribe {target.ToUpperInvariant()}")
                    $"OK SUBSCRIBE {target.ToLowerInvariant()}"
                    "a.Command $'/subscribe {target.ToUpperInvariant()}'"

                Expect.equal (a.Command "/subs") $"OK SUBS {target.ToLowerInvariant()}" "a.Command '/subs'"

            case "/subs is sorted; /unsubscribe removes, and is OK when not subscribed"
            <| fun (this: ServerFixture) ->
                let n = this.Name "t"
                let targets = [ for suffix in [ "b"; "-a"; "_c"; "9"; ".d" ] -> offline this (n + suffix) ]
                let a, _ = this.User "a"

                for t in targets do
                    Expect.equal (a.Command $"/subscribe {t}") $"OK SUBSCRIBE {t}" "a.Command $'/subscribe {t}'"

                Expect.equal (a.Command $"/subscribe {targets.Head}") $"OK SUBSCRIBE {targets.Head}" "again"

                let sorted =
                    List.sortWith (fun (x: string) y -> System.String.CompareOrdinal(x, y)) targets

                Expect.equal (a.Command "/subs") ("OK SUBS " + String.concat " " sorted) "a.Command '/subs'"

                Expect.equal
                    (a.Command $"/unsubscribe {targets.Head}")
                    $"OK UNSUBSCRIBE {targets.Head}"
                    "a.Command $'/unsubscribe {targets.Head}'"

                Expect.equal (a.Command $"/unsubscribe {targets.Head}") $"OK UNSUBSCRIBE {targets.Head}" "again"

                Expect.equal
                    (Lines.items "SUBS" (a.Command "/subs"))
                    (List.filter ((<>) targets.Head) sorted)
                    "Lines.items 'SUBS' (a.Command '/subs')"

                Expect.stringStarts (a.Command "/unsubscribe") "ERR BAD_ARGUMENT " "a.Command '/unsubscribe'"

            case "/publish: PUB with one id to online subscribers in any room; OK PUBLISH <id> <n>"
            <| fun (this: ServerFixture) ->
                let room = this.Name "pub"
                let p, pn = this.UserIn("p", room)
                let near, _ = this.UserIn("near", room)
                let far, _ = this.UserIn("far", this.Name "far")
                let bystander, _ = this.UserIn("by", room)
                let gone, goneName = this.UserIn("gone", room)

                for s in [ near; far; gone ] do
                    Expect.equal (s.Command $"/subscribe {pn}") $"OK SUBSCRIBE {pn}" "s.Command $'/subscribe {pn}'"

                gone.Send "/quit"
                p.Expect $"SYS LEAVE {room} {goneName}" |> ignore
                let id, n = Lines.published (p.Command "/publish big  news today")
                Expect.equal n 2 "n"

                for s in [ near; far ] do
                    Expect.equal
                        (s.ExpectPrefix "PUB " |> Lines.pub)
                        (id, pn, "big  news today")
                        "s.ExpectPrefix 'PUB ' |> Lines.pub"

                let news (l: string) = l.Contains "news today"
                bystander.AssertNotReceived(news, "a publication it did not subscribe to")
                p.AssertNotReceived(news, "its own publication (it gets OK PUBLISH)")
                near.AssertNotReceived((fun l -> l.StartsWith "MSG " && news l), "a publication as a room message")

            case "/publish without subscribers is OK PUBLISH <id> 0; ids differ; no text is BAD_ARGUMENT"
            <| fun (this: ServerFixture) ->
                let p, _ = this.User "lonely"
                let id1, n1 = Lines.published (p.Command "/publish anyone?")
                let id2, n2 = Lines.published (p.Command "/publish anyone at all?")
                Expect.equal (n1, n2) (0, 0) "(n1, n2)"
                Expect.notEqual id2 id1 "id2"
                Expect.stringStarts (p.Command "/publish") "ERR BAD_ARGUMENT " "p.Command '/publish'"
                Expect.stringStarts (p.Command "/publish    ") "ERR BAD_ARGUMENT " "p.Command '/publish '"

            case "subscriptions outlive sessions, until /unsubscribe"
            <| fun (this: ServerFixture) ->
                let p, pn = this.User "p"
                let sn = this.Name "s"
                let s1 = this.Connect sn
                s1.Register(sn, ServerFixture.Password)
                Expect.equal (s1.Command $"/subscribe {pn}") $"OK SUBSCRIBE {pn}" "s1.Command $'/subscribe {pn}'"
                Expect.equal (s1.Command "/quit") "OK QUIT" "s1.Command '/quit'"
                s1.WaitClosed()
                p.Expect $"SYS LEAVE lobby {sn}" |> ignore

                Expect.equal
                    (p.Command "/publish while away" |> Lines.published |> snd)
                    0
                    "p.Command '/publish while away' |> Lines.published |> snd"

                let s2 = this.Connect sn
                s2.Login(sn, ServerFixture.Password)
                Expect.equal (s2.Command "/subs") $"OK SUBS {pn}" "s2.Command '/subs'"
                let id, n = Lines.published (p.Command "/publish welcome back")
                Expect.equal n 1 "n"

                Expect.equal
                    (s2.ExpectPrefix "PUB " |> Lines.pub)
                    (id, pn, "welcome back")
                    "s2.ExpectPrefix 'PUB ' |> Lines.pub"

                Expect.isFalse (s2.Received |> List.exists (fun l -> l.Contains "while away")) "sent while offline"
                Expect.equal (s2.Command $"/unsubscribe {pn}") $"OK UNSUBSCRIBE {pn}" "s2.Command $'/unsubscribe {pn}'"

                Expect.equal
                    (p.Command "/publish after unsubscribe" |> Lines.published |> snd)
                    0
                    "p.Command '/publish after unsubscribe' |> Lines.published |> snd"

                s2.AssertNotReceived((fun l -> l.Contains "after unsubscribe"), "a publication after /unsubscribe")

            case "per-publisher order: room messages and publications arrive in the order sent"
            <| fun (this: ServerFixture) ->
                let room = this.Name "order"
                let p, pn = this.UserIn("p", room)
                let sub, _ = this.UserIn("sub", room)
                let farSub, _ = this.User "farsub"
                let member', _ = this.UserIn("member", room)

                for s in [ sub; farSub ] do
                    Expect.equal (s.Command $"/subscribe {pn}") $"OK SUBSCRIBE {pn}" "s.Command $'/subscribe {pn}'"

                let sent = [
                    for i in 1..200 do
                        yield $"m{i}", $"m{i}"

                        if i % 10 = 0 then
                            yield $"/publish p{i}", $"p{i}"
                ]

                for chunk in List.chunkBySize 25 sent do
                    p.SendAll(List.map fst chunk)

                let expectAll (c: LineClient) (keep: string -> bool) =
                    let wanted = sent |> List.map snd |> List.filter keep
                    let last = List.last wanted

                    c.ExpectMatch(
                        (fun l -> (Lines.isMsgFrom pn l || Lines.isPubFrom pn l) && l.EndsWith $" {last}"),
                        last,
                        System.TimeSpan.FromSeconds 30.0
                    )
                    |> ignore

                    let got =
                        c.Received
                        |> List.choose (fun l ->
                            if Lines.isMsgFrom pn l then
                                (let _, _, _, t = Lines.msg l in Some t)
                            elif Lines.isPubFrom pn l then
                                (let _, _, t = Lines.pub l in Some t)
                            else
                                None)

                    Expect.equal got (wanted) c.Name

                expectAll sub (fun _ -> true)
                expectAll farSub (fun t -> t.StartsWith "p")
                expectAll member' (fun t -> t.StartsWith "m")
                expectAll p (fun t -> t.StartsWith "m")
        ]
