/// The catch-up: which ids are new, which page comes next, what is shown once and in order.
module Chat.Client.Tests.CatchupTests

open Expecto
open Chat.Domain
open Chat.Client

let private room name = (RoomName.tryCreate name).Value
let private id (s: string) = (MsgId.tryCreate s).Value
let private pos (s: string) = (StreamPos.tryParse s).Value
let private dev = room "dev"
let private at last : Catchup.Place = { Room = dev; Last = Some(pos last) }

[<Tests>]
let tests =
    testList "CatchupTests" [
        testCase "ids compare as two numbers, not as text" (fun () ->
            let place = at "999-9"
            Expect.isTrue (Catchup.isNew place dev (id "1000-0")) "a later millisecond, a shorter text"
            Expect.isTrue (Catchup.isNew place dev (id "999-10")) "a later sequence"
            Expect.isFalse (Catchup.isNew place dev (id "999-9")) "the same"
            Expect.isFalse (Catchup.isNew place dev (id "20-30")) "earlier")

        testCase "another room's ids and unparsable ids are always new; the last id only moves forward" (fun () ->
            let place = at "5-0"
            Expect.isTrue (Catchup.isNew place (room "other") (id "1-0")) "another room"
            Expect.isTrue (Catchup.isNew place dev (id "opaque")) "not <ms>-<seq>"
            Expect.equal (Catchup.saw place dev (id "7-1")).Last (Some(pos "7-1")) "later"
            Expect.equal (Catchup.saw place dev (id "3-0")).Last (Some(pos "5-0")) "earlier"
            Expect.equal (Catchup.saw place (room "other") (id "9-0")).Last (Some(pos "5-0")) "another room")

        testCase "nothing seen: no catch-up" (fun () ->
            Expect.isNone (Catchup.start (Catchup.enter dev)) "no id to ask after")

        testCase "full pages go on from the last HIST id, dropping what was shown and what came twice" (fun () ->
            let g, line = Catchup.request (Catchup.start (at "10-0")).Value
            Expect.equal line "/history after 10-0 100" "the first page"
            let hist n = $"HIST dev {n} bob 1 m{n}"
            let mutable g = g

            for n in 1..100 do
                g <- (Catchup.holdHistory g dev (id $"{10 + n}-0") (hist $"{10 + n}-0")).Value

            // A live message later than the page: held, but not where the next page starts.
            g <- (Catchup.holdLive g dev (id "500-0") "MSG dev 500-0 bob live").Value
            g <- (Catchup.holdLive g dev (id "110-0") "MSG dev 110-0 bob again").Value
            g <- (Catchup.holdHistory g dev (id "9-0") (hist "9-0")).Value

            match Catchup.pageDone g 100 with
            | Catchup.More g ->
                let g, line = Catchup.request g
                Expect.equal line "/history after 110-0 100" "the second page"
                let g = (Catchup.holdHistory g dev (id "111-0") (hist "111-0")).Value

                match Catchup.pageDone g 1 with
                | Catchup.Done(lines, place) ->
                    Expect.hasLength lines 102 "100 + 1 + the live one"
                    Expect.equal (List.head lines) (hist "11-0") "oldest first"
                    Expect.equal lines[99] (hist "110-0") "the HIST line first come, not the MSG again"
                    Expect.equal (List.last lines) "MSG dev 500-0 bob live" "the live one last"
                    Expect.equal place.Last (Some(pos "500-0")) "the last id"
                | other -> failtest $"{other}"
            | other -> failtest $"{other}")

        testCase "a full page that brings nothing later ends the catch-up" (fun () ->
            let g, _ = Catchup.request (Catchup.start (at "10-0")).Value

            match Catchup.pageDone g 100 with
            | Catchup.Done([], place) -> Expect.equal place.Last (Some(pos "10-0")) "unchanged"
            | other -> failtest $"{other}")

        testCase "lines of another room or with an unparsable id are not held" (fun () ->
            let g, _ = Catchup.request (Catchup.start (at "10-0")).Value
            Expect.isNone (Catchup.holdHistory g (room "x") (id "11-0") "HIST x") "another room"
            Expect.isNone (Catchup.holdLive g dev (id "opaque") "MSG dev opaque") "opaque id")
    ]
