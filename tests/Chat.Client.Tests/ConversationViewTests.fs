/// The interactive client's conversations: a direct conversation and its unread count, /msg, scrolling back
/// and the older history it fetches, duplicates dropped.
module Chat.Client.Tests.ConversationViewTests

open System
open Expecto
open Chat.Domain
open Chat.Client
open Chat.Client.ChatModel
open Chat.Client.Tests.ViewScript
open Chat.Client.Conversations
open Chat.Client.Conversation

[<Tests>]
let tests =
    testList "ConversationViewTests" [
        testCase
            "a direct message: its own conversation with an unread count, /query opens it, text goes to them"
            (fun () ->
                let m, _ = inDev () |> run (lines [ "DM 7-0 bob psst" ])
                Expect.isFalse (has "psst" m) "not in the room's pane"
                Expect.isTrue (has "│ @bob [1]" m) "unread in the side panel"
                let m, sent = m |> run (keys "/query bob" @ [ Pressed Enter ])
                Expect.isEmpty sent "/query is the client's own"
                Expect.equal m.View (Direct(user "bob")) "in view"
                Expect.isTrue (has "<bob> psst" m) "the message shown"
                Expect.isTrue (has "│>@bob" m && not (has "@bob [1]" m)) "read"
                let m, sent = m |> run (keys "hi bob" @ [ Pressed Enter ])
                Expect.equal sent [ Send "/msg bob hi bob" ] "to bob"
                Expect.isTrue ((inputLine m).StartsWith "[@bob] ") "the prompt names the conversation"
                let m, _ = m |> run (lines [ "OK MSG 8-0 bob"; "MSG dev 9-0 carol meanwhile" ])
                Expect.isTrue (has "<alice> hi bob" m) "the sent message in the conversation once acknowledged"
                Expect.isTrue (has "│ #dev (2) [1]" m) "the room's unread count while away from it"
                let m, _ = m |> run [ Pressed NextView ]
                Expect.equal m.View (Room(room "lobby")) "Ctrl-N cycles"
                let m, _ = m |> run [ Pressed NextView ]
                Expect.equal m.View (Room(room "dev")) "to #dev"
                Expect.isTrue (has "<carol> meanwhile" m && not (has "[1]" m)) "read")

        testCase "/msg from a room: sent, its conversation opened but not shown; a refusal drops it" (fun () ->
            let m, sent = inDev () |> run (keys "/msg nobody hello" @ [ Pressed Enter ])
            Expect.equal sent [ Send "/msg nobody hello" ] "sent"
            Expect.equal m.View (Room(room "dev")) "the room stays in view"
            let m, _ = m |> run (lines [ "ERR NO_SUCH_USER no such user: nobody" ])
            Expect.isEmpty m.Outgoing "nothing waits for an acknowledgement"
            Expect.isTrue (has "! NO_SUCH_USER: no such user: nobody" m) "the refusal shown")

        testCase "scrolling past the top asks for older history once, and shows it above" (fun () ->
            let msgs = [ for i in 10..69 -> $"MSG dev {i}-0 bob line {i}" ]
            let m, _ = inDev () |> run (lines msgs)
            let m, sent = m |> run [ Pressed PageUp ]
            Expect.isEmpty sent "a page back is still within what is loaded"
            Expect.isTrue (has "scrolled back" m) "the status line says so"
            let m, sent = m |> run [ Pressed PageUp ]
            Expect.equal sent [ Send "/history before 10-0 50" ] "older history from the oldest id"
            let m, sent = m |> run [ Pressed PageUp ]
            Expect.isEmpty sent "asked once"
            Expect.isTrue (has "-- fetching older messages --" m) "shown while it comes"

            let m, _ =
                m
                |> run (
                    lines [
                        "HIST dev 1-0 carol 1000 first ever"
                        "HIST dev 2-0 bob 2000 second"
                        "OK HISTORY 2"
                    ]
                )

            Expect.isFalse (has "end of history" m) "the reply to the client's fetch makes no line"
            let c = current m
            Expect.equal (c.Entries |> List.head).Text "first ever" "prepended"
            Expect.isTrue c.AtStart "fewer than asked: the beginning"
            let m, sent = m |> run [ Pressed PageUp ]
            Expect.isEmpty sent "nothing more to ask"
            Expect.isTrue (has "-- the beginning of #dev --" m && has "<carol> first ever" m) "the top, said so"
            let m, _ = m |> run [ Pressed PageDown; Pressed PageDown; Pressed PageDown ]
            Expect.equal (current m).Scroll 0 "back at the newest"
            Expect.isTrue (has "<bob> line 69" m) "newest shown")

        testCase "history during a fetch: a duplicate id is shown once" (fun () ->
            let m, _ =
                inDev () |> run (lines [ "MSG dev 5-0 bob five"; "MSG dev 5-0 bob five" ])

            Expect.equal (current m).Entries.Length 1 "once")

        testCase "lines that fit the pane: PgUp keeps them all in view and fetches what came before" (fun () ->
            let m, _ = inDev () |> run (lines [ "MSG dev 5-0 bob five"; "MSG dev 6-0 bob six" ])
            let m, sent = m |> run [ Pressed PageUp ]
            Expect.equal sent [ Send "/history before 5-0 50" ] "fetched"
            Expect.equal (current m).Scroll 0 "not scrolled: everything shows already"
            Expect.isTrue (has "<bob> five" m && has "<bob> six" m) "both shown")
        testCase "a conversation keeps its last Capacity lines; what it dropped is no longer the room's start"
        <| fun () ->
            let line i = {
                Id = Some { Millis = int64 i; Sequence = 0L }
                At = int64 i
                From = None
                Text = string i
                Kind = Kind.Said
            }

            let start = {
                create (Room RoomName.lobby) with
                    AtStart = true
            }

            let c =
                [ 1 .. Capacity + 5 ] |> List.fold (fun c i -> append false (line i) c) start

            Expect.equal c.Entries.Length Capacity "bounded"
            Expect.equal (List.head c.Entries).Text "6" "the oldest went"
            Expect.equal (List.last c.Entries).Text (string (Capacity + 5)) "the newest stayed"
            Expect.isFalse c.AtStart "older lines are to be fetched again"
    ]
