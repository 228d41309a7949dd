/// `TokenBucket`: rate tokens a second, bursts of twice the rate, time passed in.
module Chat.Domain.Tests.TokenBucketTests

open Expecto
open FsCheck
open Chat.Domain
open Chat.Domain.Tests.Builders

/// Takes at each time in turn; how many were accepted.
let private acceptedAt rate (times: int64 list) bucket =
    ((bucket, 0), times)
    ||> List.fold (fun (b, n) t ->
        match TokenBucket.take rate t b with
        | Some b -> b, n + 1
        | None -> b, n)
    |> snd

[<Tests>]
let tests =
    testList "TokenBucketTests" [
        testCase "a full bucket holds twice the rate" (fun () ->
            TokenBucket.full 5 1000L =! { Tokens = 10.0; AtMs = 1000L })

        testCase "a burst at one instant takes exactly twice the rate" (fun () ->
            acceptedAt 5 (List.replicate 11 0L) (TokenBucket.full 5 0L) =! 10)

        testCase "an empty bucket refuses" (fun () -> TokenBucket.take 1 0L { Tokens = 0.5; AtMs = 0L } =! None)

        testCase "tokens come back at the rate" (fun () ->
            let empty = { Tokens = 0.0; AtMs = 0L }
            TokenBucket.take 2 499L empty =! None
            TokenBucket.take 2 500L empty =! Some { Tokens = 0.0; AtMs = 500L }
            acceptedAt 2 (List.replicate 5 1500L) empty =! 3)

        testCase "refill stops at twice the rate" (fun () ->
            acceptedAt 2 (List.replicate 10 60_000L) { Tokens = 0.0; AtMs = 0L } =! 4)

        testCase "a clock going back gives no tokens" (fun () ->
            TokenBucket.take 2 (-5000L) { Tokens = 0.0; AtMs = 0L } =! None)

        testCase "a clock going back and forth gives no extra tokens" (fun () ->
            // One token at t = 1000; times jump back to 0 and forward to 1000: no time has passed.
            let one = { Tokens = 1.0; AtMs = 1000L }
            acceptedAt 2 [ 0L; 1000L; 0L; 1000L; 0L; 1000L ] one =! 1)

        testCase "rate 0 never limits and leaves the bucket alone" (fun () ->
            let b = { Tokens = 0.0; AtMs = 0L }
            TokenBucket.take 0 0L b =! Some b
            acceptedAt 0 (List.replicate 1000 0L) b =! 1000)

        chatProperty
            "never more than twice the rate in a burst at one instant"
            (fun (PositiveInt rate, history: NonNegativeInt list, PositiveInt burst) ->
                let rate = rate % 1000 + 1
                // Some takes at non-decreasing times, then a burst at the last instant.
                let times = history |> List.scan (fun t (NonNegativeInt d) -> t + int64 d) 0L
                let b = TokenBucket.full rate 0L

                let bucket =
                    (b, times)
                    ||> List.fold (fun b t -> TokenBucket.take rate t b |> Option.defaultValue b)

                acceptedAt rate (List.replicate (burst + 2 * rate) (List.last times)) bucket
                <= 2 * rate)

        chatProperty
            "over any times, at most the burst plus the rate times the time covered"
            (fun (PositiveInt rate, times: int64 list) ->
                let rate = rate % 5 + 1
                let times = times |> List.map (fun t -> abs (t % 1_000L) * 97L % 1_000L)
                let span = (0L :: times |> List.max) |> float
                let accepted = acceptedAt rate times (TokenBucket.full rate 0L)
                float accepted <= float (2 * rate) + float rate * span / 1000.0 + 1e-6)

        chatProperty "rate 0 never limits" (fun (times: int64 list, tokens: NormalFloat, at: int64) ->
            let b = { Tokens = tokens.Get; AtMs = at }
            times |> List.forall (fun t -> TokenBucket.take 0 t b = Some b))
    ]
