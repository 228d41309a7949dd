/// `EventLine`: the lines streams and channels carry, round trips and malformed input.
module Chat.Domain.Tests.EventLineTests

open Expecto
open FsCheck
open Chat.Domain
open Chat.Domain.Tests.Builders

let private alice, bob = user "alice", user "bob"
let private games = room "games"

[<Tests>]
let tests =
    testList "EventLineTests" [
        testCase "a room's events come back as they were written" (fun () ->
            for event in
                [
                    EventLine.RoomEvent.Said(alice, "hi\tthere  with spaces")
                    EventLine.RoomEvent.Entered(alice, sid "s-1")
                    EventLine.RoomEvent.Left(bob, sid "s-2")
                ] do
                EventLine.decodeRoom (EventLine.encodeRoom event) =! Some event)

        testCase "a room's entry becomes the bus event of that room and id" (fun () ->
            let id = msgId "1700000000000-3"

            EventLine.roomEvent games id (EventLine.RoomEvent.Said(alice, "x"))
            =! BusEvent.Said(games, id, alice, "x")

            EventLine.roomEvent games id (EventLine.RoomEvent.Left(bob, sid "s-2"))
            =! BusEvent.Left(bob, sid "s-2", games))

        testCase "a publication carries its recipients and its text" (fun () ->
            let id = msgId "5-0"
            let line = EventLine.encodePublication [ bob; user "carol" ] "news, today"

            EventLine.decodePublication alice id line
            =! Some(BusEvent.Published(id, alice, "news, today", [ bob; user "carol" ]))

            EventLine.decodePublication alice id (EventLine.encodePublication [] "quiet")
            =! Some(BusEvent.Published(id, alice, "quiet", [])))

        testCase "a direct message carries its sender and its text; the stream names the recipient" (fun () ->
            let id = msgId "7-1"

            EventLine.decodeDirect bob id (EventLine.encodeDirect alice "hi\tthere  bob")
            =! Some(BusEvent.Direct(id, alice, bob, "hi\tthere  bob"))

            EventLine.decodeDirect bob id "D\tbad name\tx" =! None
            EventLine.decodeDirect bob id "S\talice\tx" =! None)

        testCase "a kick names the user and the session" (fun () ->
            EventLine.decodeKick (EventLine.encodeKick alice (sid "s-9"))
            =! Some(BusEvent.Kicked(alice, sid "s-9")))

        testCase "malformed lines are None, never an exception" (fun () ->
            for line in
                [
                    null
                    ""
                    "S"
                    "S\tBad Name\tx"
                    "E\talice\tnot a sid!"
                    "Q\talice\ts"
                    "L\talice"
                ] do
                EventLine.decodeRoom line =! None

            EventLine.decodePublication alice (msgId "1-0") "P\tbad name\tx" =! None
            EventLine.decodeKick "K\talice" =! None)

        testCase "a channel message is the entry with its place in the stream" (fun () ->
            let framed = EventLine.frame "1-0" "2-5" "S\talice\thello world"

            EventLine.unframe framed
            =! Some({ Millis = 1L; Sequence = 0L }, { Millis = 2L; Sequence = 5L }, "S\talice\thello world")

            for bad in [ null; ""; "1-0"; "1-0 2-0"; "x 2-0 S"; "1-0 -2 S" ] do
                EventLine.unframe bad =! None)

        testProperty "any said text survives the round trip" (fun (NonNull(text: string)) ->
            let text = text.Replace("\n", "").Replace("\r", "")
            let event = EventLine.RoomEvent.Said(alice, text)
            EventLine.decodeRoom (EventLine.encodeRoom event) = Some event)
    ]
