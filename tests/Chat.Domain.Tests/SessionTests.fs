/// `Session.evolve`: total, and only the transitions of a connection's life.
module Chat.Domain.Tests.SessionTests

open Expecto
open FsCheck
open Chat.Domain
open Chat.Domain.Tests.Builders

let private bucket = TokenBucket.full 50 0L
let private alice = user "alice"
let private games = room "games"

let private states = [ Anonymous; active "alice" "lobby"; active "bob" "games"; Ended ]

let private token = ResumeToken.tryCreate "abcdefghijklmnop_-0123" |> Option.get

let private events = [
    LoggedInAs(alice, bucket, None)
    LoggedInAs(user "carol", bucket, Some token)
    TokenHeld token
    MovedTo games
    MovedTo lobby
    Closed
]

[<Tests>]
let tests =
    testList "SessionTests" [
        testCase "a new connection is anonymous" (fun () -> Session.initial =! Anonymous)

        testCase "logging in enters the lobby with the given bucket" (fun () ->
            Session.evolve Anonymous (LoggedInAs(alice, bucket, None))
            =! Active {
                User = alice
                Room = lobby
                Bucket = bucket
                Token = None
            })

        testCase "a RESUME login holds the token it logged in with" (fun () ->
            match Session.evolve Anonymous (LoggedInAs(alice, bucket, Some token)) with
            | Active a -> a.Token =! Some token
            | other -> failtestf "not active: %A" other)

        testCase "an issued token is held by the active session" (fun () ->
            Session.evolve (active "alice" "games") (TokenHeld token)
            =! Active {
                activeIn "alice" "games" with
                    Token = Some token
            })

        testCase "a token issued to no active session changes nothing" (fun () ->
            Session.evolve Anonymous (TokenHeld token) =! Anonymous
            Session.evolve Ended (TokenHeld token) =! Ended)

        testCase "moving changes the room of an active session" (fun () ->
            Session.evolve (active "alice" "lobby") (MovedTo games)
            =! active "alice" "games")

        testCase "closing ends every state" (fun () ->
            states |> List.map (fun s -> Session.evolve s Closed)
            =! List.replicate states.Length Ended)

        testCase "events that do not apply leave the state as it is" (fun () ->
            Session.evolve Anonymous (MovedTo games) =! Anonymous

            Session.evolve (active "bob" "games") (LoggedInAs(alice, bucket, None))
            =! active "bob" "games"

            Session.evolve Ended (LoggedInAs(alice, bucket, None)) =! Ended
            Session.evolve Ended (MovedTo games) =! Ended)

        testCase "evolve is total over every state and event" (fun () ->
            [
                for s in states do
                    for e in events -> Session.evolve s e
            ]
            |> List.length
            =! states.Length * events.Length)

        testCase "fold applies the events in order" (fun () ->
            Session.fold Anonymous [ LoggedInAs(alice, bucket, None); MovedTo games; MovedTo lobby; MovedTo games ]
            =! Active {
                User = alice
                Room = games
                Bucket = bucket
                Token = None
            })

        chatProperty "once ended, always ended" (fun (choices: NonNegativeInt list) ->
            let pick (NonNegativeInt i) = events[i % events.Length]
            Session.fold Ended (List.map pick choices) = Ended)

        chatProperty
            "any sequence of events leads to a defined state"
            (fun (u: Username, r: RoomName, choices: int list) ->
                let event i =
                    match abs (i % 3) with
                    | 0 -> LoggedInAs(u, bucket, None)
                    | 1 -> MovedTo r
                    | _ -> Closed

                match Session.fold Session.initial (List.map event choices) with
                | Anonymous -> choices |> List.forall (fun i -> abs (i % 3) = 1)
                | Active a -> a.User = u && (a.Room = r || a.Room = lobby)
                | Ended -> List.exists (fun i -> abs (i % 3) = 2) choices)
    ]
