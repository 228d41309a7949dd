namespace Chat.Server.Tests

open Expecto
open Chat.Testing
open Chat.Domain

/// `/history after <id> [n]` and `/history before <id> [n]`: paging by message id.
module E2eHistoryPages =
    let private pos (id: string) =
        StreamPos.tryParse id
        |> Option.defaultWith (fun () -> failwith $"not a stream id: {id}")

    /// Sends `texts` to the room in one write: the MSG ids the sender saw, in order.
    let private say (c: LineClient) (user: string) (texts: string list) =
        c.SendAll texts

        [
            for t in texts ->
                let _, id, _, _ =
                    c.ExpectMatch((fun l -> Lines.isMsgFrom user l && l.EndsWith $" {t}"), t)
                    |> Lines.msg

                id
        ]

    /// The reply to `command` and the ids of its HIST lines, in order.
    let private page (c: LineClient) (command: string) =
        c.Sync()
        c.Clear()
        let reply = c.Command command

        let ids =
            c.TakeAll(fun l -> l.StartsWith "HIST ")
            |> List.map (Lines.hist >> fun (_, id, _, _, _) -> id)

        Expect.equal reply $"OK HISTORY {ids.Length}" $"{command}: the count is that of the HIST lines"
        ids

    /// A room with `n` messages from one user (and another's joins and leaves between them): the
    /// sender and the ids.
    let private room (this: ServerFixture) (n: int) =
        let name = this.Name "pages"
        let a, an = this.UserIn("a", name)
        let first = say a an [ for i in 1 .. n / 2 -> $"m{i}" ]
        let b, _ = this.UserIn("b", name)
        Expect.equal (b.Command "/leave") $"OK LEAVE {name}" "b leaves"
        a, first @ say a an [ for i in n / 2 + 1 .. n -> $"m{i}" ]

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eHistoryPages" [ "--msg-rate"; "0" ] [
            case "after <id>: the first n later than it, oldest first, with the MSG ids"
            <| fun (this: ServerFixture) ->
                let a, ids = room this 30
                Expect.equal (page a $"/history after {ids[0]}") (ids[1..20]) "after the first, default 20"
                Expect.equal (page a $"/history after {ids[0]} 5") (ids[1..5]) "after the first, 5"
                Expect.equal (page a $"/history after {ids[9]} 1") [ ids[10] ] "after the tenth, 1"
                Expect.equal (page a $"/history after {ids[27]} 10") (ids[28..29]) "fewer than asked"
                Expect.equal (page a $"/history after {ids[29]}") [] "after the last"
                Expect.equal (page a "/history after 0-0 100") ids "after 0-0: all of them"
                Expect.equal (page a "/history AFTER 0-0 3") (ids[0..2]) "the word in any case"
                Expect.equal (page a "/history after 99999999999999-0") [] "after a later id"

            case "before <id>: the last n earlier than it, oldest first"
            <| fun (this: ServerFixture) ->
                let a, ids = room this 30
                Expect.equal (page a $"/history before {ids[29]}") (ids[9..28]) "before the last, default 20"
                Expect.equal (page a $"/history before {ids[29]} 3") (ids[26..28]) "before the last, 3"
                Expect.equal (page a $"/history before {ids[2]} 10") (ids[0..1]) "fewer than asked"
                Expect.equal (page a $"/history before {ids[0]}") [] "before the first"
                Expect.equal (page a "/history before 0-0") [] "before 0-0"
                Expect.equal (page a "/history before 99999999999999-0 100") ids "before a later id: all"

            case "an id that is not in the history pages by order; paging back and forth meets every id once"
            <| fun (this: ServerFixture) ->
                let a, ids = room this 25
                let between = $"{(pos ids[12]).Millis}-999999999"
                let later = ids |> List.filter (fun id -> pos id > pos between)
                let earlier = ids |> List.filter (fun id -> pos id < pos between)
                Expect.equal (page a $"/history after {between} 100") later "after an id between"
                Expect.equal (page a $"/history before {between} 100") earlier "before an id between"
                // Back from the newest, a page of 7 at a time.
                let rec back (before: string) (got: string list) =
                    match page a $"/history before {before} 7" with
                    | [] -> got
                    | older -> back older.Head (older @ got)

                Expect.equal (back "99999999999999-0" []) ids "paged back"

                let rec forward (after: string) (got: string list) =
                    match page a $"/history after {after} 7" with
                    | [] -> got
                    | newer -> forward (List.last newer) (got @ newer)

                Expect.equal (forward "0-0" []) ids "paged forward"

            case "n more than 100 is served 100, as /history n is"
            <| fun (this: ServerFixture) ->
                let a, ids = room this 105
                Expect.equal (page a "/history after 0-0 500") (ids[0..99]) "after, 500"
                Expect.equal (page a "/history before 99999999999999-0 101") (ids[5..104]) "before, 101"

            case "presence (SYS JOIN, SYS LEAVE) never appears in HIST"
            <| fun (this: ServerFixture) ->
                let a, ids = room this 4
                a.Sync()
                a.Clear()
                Expect.equal (a.Command "/history after 0-0 100") "OK HISTORY 4" "only the messages"
                let hist = a.TakeAll(fun l -> l.StartsWith "HIST ")
                Expect.equal (hist |> List.map (Lines.hist >> fun (_, id, _, _, _) -> id)) ids "the ids"

                Expect.equal
                    (hist |> List.map (Lines.hist >> fun (_, _, _, _, t) -> t))
                    [ "m1"; "m2"; "m3"; "m4" ]
                    "texts"
            yield!
                cases "a malformed /history after|before is BAD_ARGUMENT" [
                    "/history after"
                    "/history before"
                    "/history after abc"
                    "/history after 12"
                    "/history before 1-2-3"
                    "/history after -1-0"
                    "/history after 1-x"
                    "/history after 1-0 0"
                    "/history after 1-0 -5"
                    "/history before 1-0 x"
                    "/history before 1-0 2 3"
                ]
                <| fun (this: ServerFixture) (line: string) ->
                    let a, _ = this.UserIn("a", this.Name "bad")
                    Expect.stringStarts (a.Command line) "ERR BAD_ARGUMENT " "a.Command line"
        ]
