namespace Chat.Server.Tests

open Expecto
open Chat.Testing

/// Room messages, presence events and the room commands (PROTOCOL.md "After login").
module E2eRooms =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eRooms" [ "--msg-rate"; "0" ] [
            case "a room message reaches every member, the sender included, with one id; no one else"
            <| fun (this: ServerFixture) ->

                let room = this.Name "room"
                let a, an = this.UserIn("a", room)
                let b, _ = this.UserIn("b", room)
                let c, _ = this.UserIn("c", room)
                let outsider, _ = this.UserIn("out", this.Name "elsewhere")
                a.Send "hello  room, with  double spaces "
                let seen = [ for x in [ a; b; c ] -> x.ExpectPrefix $"MSG {room} " |> Lines.msg ]
                let _, id, _, _ = seen.Head
                Expect.allEqual seen (room, id, an, "hello  room, with  double spaces ") "seen"
                outsider.AssertNotReceived((fun l -> l.Contains "double spaces"), "a message of another room")

                for x in [ a; b; c ] do
                    x.Sync()
                    Expect.hasLength (x.Received |> List.filter (fun l -> l.Contains "double spaces")) 1 "once"

            case "//text sends the room message /text; it is not a command"
            <| fun (this: ServerFixture) ->
                let room = this.Name "slash"
                let a, an = this.UserIn("a", room)
                let b, _ = this.UserIn("b", room)
                a.Send "//join elsewhere"
                let _, _, from, text = b.ExpectPrefix $"MSG {room} " |> Lines.msg
                Expect.equal (from, text) (an, "/join elsewhere") "(from, text)"

                Expect.equal
                    (Lines.items "WHO" (a.Command "/who") |> List.head)
                    room
                    "Lines.items 'WHO' (a.Command '/who') |> List.head"

            case "logging in tells the lobby SYS JOIN lobby <me>, not me"
            <| fun (this: ServerFixture) ->
                let w, _ = this.User "w"
                let b, bn = this.User "b"
                w.Expect $"SYS JOIN lobby {bn}" |> ignore
                b.AssertNotReceived((fun l -> l.StartsWith "SYS " && l.EndsWith $" {bn}"), "an event about itself")

            case "/join: OK JOIN; the old room sees SYS LEAVE, the new one SYS JOIN; messages follow"
            <| fun (this: ServerFixture) ->
                let r1, r2 = this.Name "one", this.Name "two"
                let w, _ = this.User "w"
                let a, an = this.User "a"
                Expect.equal (a.Command $"/join {r1}") $"OK JOIN {r1}" "a.Command $'/join {r1}'"
                w.Expect $"SYS LEAVE lobby {an}" |> ignore
                let b, _ = this.UserIn("b", r1)
                let c, _ = this.UserIn("c", r2)
                Expect.equal (a.Command $"/join {r2}") $"OK JOIN {r2}" "a.Command $'/join {r2}'"
                b.Expect $"SYS LEAVE {r1} {an}" |> ignore
                c.Expect $"SYS JOIN {r2} {an}" |> ignore
                a.AssertNotReceived((fun l -> l.StartsWith "SYS " && l.EndsWith $" {an}"), "events about itself")
                a.Send "now in two"

                c.ExpectMatch(
                    (fun l -> l.StartsWith $"MSG {r2} " && l.EndsWith " now in two"),
                    "the message in the new room"
                )
                |> ignore

                b.AssertNotReceived((fun l -> l.EndsWith " now in two"), "a message of the room it left")

            case "/join of my own room: OK JOIN and no events, whatever its case"
            <| fun (this: ServerFixture) ->
                let room = this.Name "own"
                let a, an = this.UserIn("a", room)
                let b, _ = this.UserIn("b", room)
                Expect.equal (a.Command $"/join {room}") $"OK JOIN {room}" "a.Command $'/join {room}'"

                Expect.equal
                    (a.Command $"/join {room.ToUpperInvariant()}")
                    $"OK JOIN {room}"
                    "a.Command $'/join {room.ToUpperInvariant()}'"

                b.AssertNotReceived(
                    (fun l -> l.StartsWith "SYS " && l.EndsWith $" {an}"),
                    "events about a member that stayed"
                )

                Expect.hasLength
                    (Lines.items "WHO" (b.Command "/who") |> List.filter ((=) an))
                    1
                    "Lines.items 'WHO' (b.Command '/who') |> List.filter ((=) an)"

            case "room names are case-insensitive and checked"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "a"
                let mixed = this.Name "MixedCase#Room.x-"
                let lower = mixed.ToLowerInvariant()
                Expect.equal (a.Command $"/join {mixed}") $"OK JOIN {lower}" "a.Command $'/join {mixed}'"
                Expect.equal (a.Command "/who") $"OK WHO {lower} {an}" "a.Command '/who'"

                for bad in
                    [
                        "/join"
                        "/join two words"
                        "/join bad!room"
                        "/join #chan"
                        "/join " + String.replicate 65 "r"
                    ] do
                    Expect.stringStarts (a.Command bad) "ERR BAD_ARGUMENT " bad

                Expect.equal
                    (a.Command("/join " + String.replicate 64 "r"))
                    ("OK JOIN " + String.replicate 64 "r")
                    "a.Command('/join ' + String.replicate 64 'r')"

            case "/leave goes back to the lobby: OK LEAVE <old>, the same events as /join lobby"
            <| fun (this: ServerFixture) ->
                let room = this.Name "leave"
                let a, an = this.UserIn("a", room)
                let b, _ = this.UserIn("b", room)
                let w, _ = this.User "w"
                Expect.equal (a.Command "/leave") $"OK LEAVE {room}" "a.Command '/leave'"
                b.Expect $"SYS LEAVE {room} {an}" |> ignore
                w.Expect $"SYS JOIN lobby {an}" |> ignore
                let who = Lines.items "WHO" (a.Command "/who")
                Expect.equal who.Head "lobby" "who.Head"
                Expect.contains who.Tail an "who.Tail"

            case "/leave in the lobby: OK LEAVE lobby and no events"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "a"
                let w, _ = this.User "w"
                Expect.equal (a.Command "/leave") "OK LEAVE lobby" "a.Command '/leave'"

                w.AssertNotReceived(
                    (fun l -> l.StartsWith "SYS " && l.EndsWith $" {an}"),
                    "events about a user that stayed"
                )

            case "/quit and a dropped connection both end in SYS LEAVE <room> <me>"
            <| fun (this: ServerFixture) ->
                let room = this.Name "gone"
                let b, _ = this.UserIn("b", room)
                let q, qn = this.UserIn("q", room)
                let d, dn = this.UserIn("d", room)
                q.Send "/quit"
                b.Expect $"SYS LEAVE {room} {qn}" |> ignore
                d.Disconnect()
                b.Expect $"SYS LEAVE {room} {dn}" |> ignore
                let who = Lines.items "WHO" (b.Command "/who")
                Expect.notContains who qn "who"
                Expect.notContains who dn "who"

            case "/rooms lists the rooms with members and their counts, sorted by name"
            <| fun (this: ServerFixture) ->
                let n = this.Name "s"
                let rooms = [ $"{n}-b"; $"{n}.a"; $"{n}9"; $"{n}_c" ]
                let clients = [ for r in rooms -> this.UserIn("m", r) |> fst ]
                let second, _ = this.UserIn("m", $"{n}.a")
                let listed = Lines.items "ROOMS" (second.Command "/rooms")

                Expect.isTrue
                    (Lines.isOrdinalSorted [ for item in listed -> item.Substring(0, item.LastIndexOf ':') ])
                    (listed |> String.concat " ")

                let mine = listed |> List.filter (fun i -> i.StartsWith n)
                Expect.equal mine ([ $"{n}-b:1"; $"{n}.a:2"; $"{n}9:1"; $"{n}_c:1" ]) "mine"
                Expect.equal (clients[3].Command "/leave") $"OK LEAVE {n}_c" "clients[3].Command '/leave'"

                let after =
                    Lines.items "ROOMS" (second.Command "/rooms")
                    |> List.filter (fun i -> i.StartsWith n)

                Expect.equal after ([ $"{n}-b:1"; $"{n}.a:2"; $"{n}9:1" ]) "after"

            case "/who lists the members of my room, sorted"
            <| fun (this: ServerFixture) ->
                let room = this.Name "who"
                let n = this.Name "w"
                let names = [ $"{n}b"; $"{n}-a"; $"{n}_c"; $"{n}9"; $"{n}.d" ]

                let clients = [
                    for u in names ->
                        let c = this.Connect u in
                        c.Register(u, ServerFixture.Password)
                        c
                ]

                for c in clients do
                    Expect.equal (c.Command $"/join {room}") $"OK JOIN {room}" "c.Command $'/join {room}'"

                let sorted =
                    List.sortWith (fun (x: string) y -> System.String.CompareOrdinal(x, y)) names

                Expect.equal
                    (clients.Head.Command "/who")
                    ($"OK WHO {room} " + String.concat " " sorted)
                    "clients.Head.Command '/who'"

            case "/users lists everyone online, sorted, once each; a user who quit is gone"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "a"
                let _, bn = this.UserIn("b", this.Name "r")
                let q, qn = this.User "q"
                let users = Lines.items "USERS" (a.Command "/users")
                Expect.isTrue (Lines.isOrdinalSorted users) (String.concat " " users)
                Expect.containsAll users ([ an; bn; qn ]) "users"
                q.Send "/quit"
                a.Expect $"SYS LEAVE lobby {qn}" |> ignore

                Expect.notContains
                    (Lines.items "USERS" (a.Command "/users"))
                    qn
                    "Lines.items 'USERS' (a.Command '/users')"
        ]
