/// The input line's editing keys, its history and tab completion.
module Chat.Client.Tests.LineEditorTests

open Expecto
open FsCheck
open Chat.Client
open Chat.Client.LineEditor

let private typed (s: string) = insert s empty

let private names: Completion.Names = {
    Users = [ "bob"; "bella"; "charlie" ]
    Rooms = [ "dev"; "design"; "lobby" ]
}

let private tab cycle text =
    Completion.tab names cycle (ofText text)

let private completes text =
    tab None text |> Option.map (fst >> _.Text)

[<Tests>]
let tests =
    testList "LineEditorTests" [
        testCase "editing keys: insert at the cursor, backspace, delete, home, end, kill" (fun () ->
            let e = typed "hello world" |> left |> left |> left |> left |> left |> insert "big "
            Expect.equal e.Text "hello big world" "inserted at the cursor"
            Expect.equal e.Cursor 10 "the cursor after the insertion"
            Expect.equal (backspace e).Text "hello bigworld" "backspace"
            Expect.equal (delete e).Text "hello big orld" "delete"
            Expect.equal (killToStart e) { Text = "world"; Cursor = 0 } "Ctrl-U"
            Expect.equal (killToEnd e).Text "hello big " "Ctrl-K"
            Expect.equal (killWord e) { Text = "hello world"; Cursor = 6 } "Ctrl-W"
            Expect.equal (home e).Cursor 0 "home"
            Expect.equal (end' e).Cursor 15 "end")

        testCase "a surrogate pair is one character to the cursor and to backspace" (fun () ->
            let e = typed "a😀"
            Expect.equal (backspace e).Text "a" "the pair removed whole"
            Expect.equal (left e).Cursor 1 "left skips the pair"
            Expect.equal (e |> left |> right).Cursor 3 "right too")

        testCase "control characters never enter the line" (fun () ->
            Expect.equal (typed "a\u001b[2Jb\n").Text "a[2Jb" "ESC and newline dropped")

        testProperty "the cursor stays within the text whatever the keys" (fun (keys: int list) (s: NonNull<string>) ->
            let ops = [|
                left
                right
                home
                end'
                backspace
                delete
                killWord
                killToEnd
                insert s.Get
            |]

            let e =
                keys |> List.fold (fun e k -> ops[abs (k % ops.Length)] e) (typed "start here")

            e.Cursor >= 0 && e.Cursor <= e.Text.Length)

        testCase "history: up recalls older lines, down comes back to the draft" (fun () ->
            let h =
                InputHistory.empty
                |> InputHistory.add "one"
                |> InputHistory.add "two"
                |> InputHistory.add "two"

            Expect.equal h.Past [ "two"; "one" ] "a repeat kept once"
            let h1, l1 = (InputHistory.older "half typ" h).Value
            let h2, l2 = (InputHistory.older l1 h1).Value
            Expect.equal [ l1; l2 ] [ "two"; "one" ] "newest first"
            Expect.isNone (InputHistory.older l2 h2) "nothing older"
            let h3, l3 = (InputHistory.newer h2).Value
            let _, l4 = (InputHistory.newer h3).Value
            Expect.equal [ l3; l4 ] [ "two"; "half typ" ] "back to the draft")

        testCase "history never keeps a line with a password" (fun () ->
            let h = InputHistory.empty |> InputHistory.add "LOGIN alice secret"
            Expect.isEmpty h.Past "not kept"

            let h =
                [ "  login alice secret"; "Register bob pw123456"; "RESUME carol abc" ]
                |> List.fold (fun h l -> InputHistory.add l h) InputHistory.empty

            Expect.isEmpty h.Past "whatever the case, and after spaces")

        testCase "completion: commands, users, rooms by position" (fun () ->
            Expect.equal (completes "/jo") (Some "/join ") "a command"
            Expect.equal (completes "/join de") (Some "/join design ") "a room after /join (sorted first)"
            Expect.equal (completes "/join #lo") (Some "/join lobby ") "the # is optional"
            Expect.equal (completes "/msg ch") (Some "/msg charlie ") "a user after /msg"
            Expect.equal (completes "/query b") (Some "/query bella ") "a user after /query"
            Expect.equal (completes "cha") (Some "charlie: ") "a name starting the line is an address"
            Expect.equal (completes "hi CHA") (Some "hi charlie ") "case-insensitive, in the middle"
            Expect.equal (completes "see #d") (Some "see #design ") "a room by its #"
            Expect.isNone (completes "zz") "nothing matches")

        testCase "Tab again cycles through the candidates; an edit starts over" (fun () ->
            let e1, c1 = (tab None "hi b").Value
            let e2, c2 = (Completion.tab names (Some c1) e1).Value
            let e3, _ = (Completion.tab names (Some c2) e2).Value
            Expect.equal [ e1.Text; e2.Text; e3.Text ] [ "hi bella "; "hi bob "; "hi bella " ] "round"
            let edited = insert "x" e2
            Expect.isNone (Completion.tab names (Some c2) edited) "a new word after the edit: nothing matches")

        testCase "completion keeps the text after the cursor" (fun () ->
            let e = {
                Text = "hi ch, how are you"
                Cursor = 5
            }

            let done', _ = (Completion.tab names None e).Value
            Expect.equal done'.Text "hi charlie , how are you" "inserted before the rest")
    ]
