/// `StreamPos` and `StreamCursor`: each rule of a stream's sequencing, one case at a time.
module Chat.Domain.Tests.StreamCursorTests

open Expecto
open Chat.Tests.Cases
open Chat.Domain
open Chat.Domain.Tests.Builders

/// Entry n has id n-0; its event names it.
let private p n = { Millis = int64 n; Sequence = 0L }

let private e n prev = {
    Id = p n
    Prev = p prev
    Event = $"e{n}"
}

let private deliver n prev = Step.Deliver(e n prev)

/// Applies the transitions in turn from `starting`; the cursor and every step, in order.
let private run (transitions: (Cursor<string> -> Cursor<string> * Step<string> list) list) =
    ((StreamCursor.starting, []), transitions)
    ||> List.fold (fun (c, steps) t ->
        let c, more = t c
        c, steps @ more)

/// Running at 2, having delivered 1 and 2, with nothing held.
let private atTwo =
    run [
        StreamCursor.start (p 0)
        StreamCursor.live (e 1 0)
        StreamCursor.live (e 2 1)
    ]
    |> fst

/// Running at 2, with 4 held behind a read after 2.
let private gapAtTwo = StreamCursor.live (e 4 3) atTwo |> fst

let private steps c transitions =
    run ((fun _ -> c, []) :: transitions) |> snd

[<Tests>]
let tests =
    testList "StreamCursorTests" [
        testCase "ids parse and render as ms-seq, and order by ms then seq" (fun () ->
            StreamPos.tryParse "1526919030474-55"
            =! Some {
                Millis = 1526919030474L
                Sequence = 55L
            }

            StreamPos.tryParse "0-0" =! Some StreamPos.zero

            StreamPos.tryParse "9223372036854775807-9223372036854775807"
            =! Some {
                Millis = System.Int64.MaxValue
                Sequence = System.Int64.MaxValue
            }

            StreamPos.render { Millis = 12L; Sequence = 3L } =! "12-3"
            compare { Millis = 1L; Sequence = 9L } { Millis = 2L; Sequence = 0L } =! -1
            compare { Millis = 2L; Sequence = 1L } { Millis = 2L; Sequence = 0L } =! 1
            StreamPos.next { Millis = 5L; Sequence = 7L } =! { Millis = 5L; Sequence = 8L }
            // The sequence is full: the next id is in the next millisecond.
            StreamPos.next {
                Millis = 5L
                Sequence = System.Int64.MaxValue
            }
            =! { Millis = 6L; Sequence = 0L })

        testCases
            "anything but digits-digits is not an id"
            [
                ""
                "1"
                "1-"
                "-1"
                "+1-0"
                "1-+0"
                "-1-0"
                " 1-0"
                "1-0 "
                "1-2-3"
                "a-b"
                "1--0"
                "\u0661-0"
                "99999999999999999999-0"
                "9223372036854775808-0"
                "0-9223372036854775808"
            ]
            (fun text -> StreamPos.tryParse text =! None)

        testCase "a null reply is not an id" (fun () -> StreamPos.tryParse null =! None)

        testProperty "tryParse inverts render" (fun (ms: uint32, seq: uint32) ->
            let id = {
                Millis = int64 ms * 1000L
                Sequence = int64 seq
            }

            StreamPos.tryParse (StreamPos.render id) = Some id)

        testCase "before the tail is read, live entries are held, not delivered" (fun () ->
            let c, s = run [ StreamCursor.live (e 3 2); StreamCursor.live (e 4 3) ]
            s =! []
            StreamCursor.last c =! None
            StreamCursor.isIdle c =! false)

        testCase "the start drops held entries up to the tail and delivers what follows it" (fun () ->
            let c, s =
                run [
                    StreamCursor.live (e 2 1)
                    StreamCursor.live (e 3 2)
                    StreamCursor.live (e 3 2)
                    StreamCursor.live (e 4 3)
                    StreamCursor.start (p 2)
                ]

            s =! [ deliver 3 2; deliver 4 3 ]
            StreamCursor.last c =! Some(p 4)
            StreamCursor.isIdle c =! true)

        testCase "a start before a gap reads the gap back" (fun () ->
            run [ StreamCursor.live (e 5 4); StreamCursor.start (p 2) ] |> snd
            =! [ Step.Fetch(p 2) ])

        testCase "an empty stream starts at zero, and its first entry follows zero" (fun () ->
            run [ StreamCursor.start StreamPos.zero; StreamCursor.live (e 1 0) ] |> snd
            =! [ deliver 1 0 ])

        testCase "an entry that follows the last one is delivered; a duplicate is dropped" (fun () ->
            steps atTwo [
                StreamCursor.live (e 3 2)
                StreamCursor.live (e 3 2)
                StreamCursor.live (e 2 1)
            ]
            =! [ deliver 3 2 ])

        testCase "after a gap the entry is held and the gap read, once" (fun () ->
            steps atTwo [
                StreamCursor.live (e 4 3)
                StreamCursor.live (e 5 4)
                StreamCursor.linkRestored
            ]
            =! [ Step.Fetch(p 2) ])

        testCase "the read fills the gap, then the held entries follow, each once" (fun () ->
            let c, s =
                run [
                    (fun _ -> gapAtTwo, [])
                    StreamCursor.live (e 5 4)
                    StreamCursor.live (e 5 4)
                    StreamCursor.fetched (p 2) [ e 3 2; e 4 3 ] true
                ]

            s =! [ deliver 3 2; deliver 4 3; deliver 5 4 ]
            StreamCursor.isIdle c =! true)

        testCase "a page that is not the log's end is followed by the next page" (fun () ->
            steps gapAtTwo [ StreamCursor.fetched (p 2) [ e 3 2 ] false ]
            =! [ deliver 3 2; Step.Fetch(p 3) ])

        testCase "an empty page ends the read even when not called complete" (fun () ->
            steps atTwo [ StreamCursor.linkRestored; StreamCursor.fetched (p 2) [] false ]
            =! [ Step.Fetch(p 2) ])

        testCase "an answer for a position the cursor has left is ignored" (fun () ->
            let c, _ = StreamCursor.fetched (p 2) [ e 3 2; e 4 3 ] true gapAtTwo

            steps c [
                StreamCursor.fetched (p 2) [ e 3 2; e 4 3 ] true
                StreamCursor.fetched (p 9) [ e 10 9 ] true
            ]
            =! [])

        testCase "entries trimmed before they were read are lost, and what remains is delivered" (fun () ->
            steps gapAtTwo [ StreamCursor.fetched (p 2) [ e 4 3 ] true ]
            =! [ Step.Lost(p 2, p 3); deliver 4 3 ])

        testCase "a held entry appended after a complete read began is read for again, not lost" (fun () ->
            let c, s =
                run [
                    (fun _ -> gapAtTwo, [])
                    StreamCursor.live (e 7 6)
                    StreamCursor.fetched (p 2) [ e 3 2; e 4 3 ] true
                ]

            s =! [ deliver 3 2; deliver 4 3; Step.Fetch(p 4) ]

            steps c [ StreamCursor.fetched (p 4) [ e 5 4; e 6 5; e 7 6 ] false ]
            =! [ deliver 5 4; deliver 6 5; deliver 7 6; Step.Fetch(p 7) ])

        testCase "a live entry written after the last one was lost reports the rewind, then continues" (fun () ->
            // The log lost 2 in a failover and went on from 1.
            steps atTwo [ StreamCursor.live (e 5 1); StreamCursor.live (e 6 5) ]
            =! [ Step.Rewound(p 2, p 1); deliver 5 1; deliver 6 5 ])

        testCase "a read that finds the log rewound reports it once" (fun () ->
            steps gapAtTwo [ StreamCursor.fetched (p 2) [ e 5 1; e 6 5 ] true ]
            =! [ Step.Rewound(p 2, p 1); deliver 5 1; deliver 6 5 ])

        testCase "a failed read stays outstanding until retried" (fun () ->
            steps gapAtTwo [
                StreamCursor.fetchFailed
                StreamCursor.linkRestored
                StreamCursor.live (e 5 4)
                StreamCursor.retry
            ]
            =! [ Step.Fetch(p 2) ])

        testCase "retry asks for nothing when no read is outstanding" (fun () ->
            steps atTwo [ StreamCursor.retry ] =! []
            run [ StreamCursor.retry ] |> snd =! [])

        testCase "a restored link reads after the last entry; before the start it does nothing" (fun () ->
            steps atTwo [ StreamCursor.linkRestored ] =! [ Step.Fetch(p 2) ]
            run [ StreamCursor.linkRestored ] |> snd =! []
            StreamCursor.isIdle (StreamCursor.linkRestored atTwo |> fst) =! false)

        testCase "a second start changes nothing" (fun () ->
            steps atTwo [ StreamCursor.start (p 9) ] =! []
            StreamCursor.last atTwo =! Some(p 2))
    ]
