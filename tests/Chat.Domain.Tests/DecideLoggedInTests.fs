/// `Decide.decide` after login: every command, as the effects it asks for.
module Chat.Domain.Tests.DecideLoggedInTests

open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private alice = user "alice"
let private games = room "games"
let private inLobby = active "alice" "lobby"
let private inGames = active "alice" "games"

/// The effects of a line that must leave the session as it was.
let private effectsOf state line =
    let after, effects = decide state line
    after =! state
    effects

[<Tests>]
let tests =
    testList "DecideLoggedInTests" [
        testCases
            "LOGIN and REGISTER are ALREADY_LOGGED_IN"
            [ "LOGIN alice secret123"; "REGISTER bob secret123"; "LOGIN"; "REGISTER bob" ]
            (fun (line: string) ->
                effectsOf inLobby line
                =! [ errReply AlreadyLoggedIn "this connection is logged in already" ])

        testCase "a line is said in the current room" (fun () ->
            let after, effects = decide inGames "hello all"
            effects =! [ SayInRoom(games, alice, "hello all") ]

            (match after with
             | Active a -> (a.User, a.Room, a.Bucket.Tokens) =! (alice, games, 99.0)
             | other -> failtest $"not active: %A{other}"))

        testCase "a double slash says the line without its first slash" (fun () ->
            snd (decide inLobby "//shrug") =! [ SayInRoom(lobby, alice, "/shrug") ])

        testCase "join moves to another room" (fun () ->
            effectsOf inLobby "/join Games"
            =! [ MoveRoom(alice, lobby, games, Joined games) ])

        testCase "joining my own room answers OK JOIN and moves nothing" (fun () ->
            effectsOf inGames "/join GAMES" =! [ okReply (Joined games) ]
            effectsOf inLobby "/join lobby" =! [ okReply (Joined lobby) ])

        testCase "leave goes back to the lobby" (fun () ->
            effectsOf inGames "/leave" =! [ MoveRoom(alice, games, lobby, Left games) ])

        testCase "leave in the lobby answers OK LEAVE lobby and moves nothing" (fun () ->
            effectsOf inLobby "/leave" =! [ okReply (Left lobby) ])

        testCase "listings are queries" (fun () ->
            effectsOf inGames "/rooms" =! [ Ask ListRooms ]
            effectsOf inGames "/who" =! [ Ask(ListWho games) ]
            effectsOf inGames "/users" =! [ Ask ListUsers ]
            effectsOf inGames "/subs" =! [ Ask(ListSubs alice) ])

        testCase "history asks for the current room" (fun () ->
            effectsOf inGames "/history" =! [ Ask(ShowHistory(games, 20)) ]
            effectsOf inGames "/history 5" =! [ Ask(ShowHistory(games, 5)) ]
            effectsOf inGames "/history 1000" =! [ Ask(ShowHistory(games, 100)) ])

        testCases
            "bad arguments are BAD_ARGUMENT"
            [
                "/history abc"
                "/history 0"
                "/join"
                "/join no!pe"
                "/subscribe"
                "/unsubscribe a b"
                "/publish"
            ]
            (fun (line: string) -> errorCode (effectsOf inLobby line) =! Some BadArgumentCode)

        testCase "subscribe and unsubscribe follow and unfollow" (fun () ->
            effectsOf inLobby "/subscribe Bob" =! [ Follow(alice, user "bob") ]
            effectsOf inLobby "/unsubscribe bob" =! [ Unfollow(alice, user "bob") ])

        testCase "subscribing to myself is BAD_ARGUMENT" (fun () ->
            effectsOf inLobby "/subscribe ALICE"
            =! [ errReply BadArgumentCode "you cannot subscribe to yourself" ])

        testCase "publish goes to my subscribers" (fun () ->
            snd (decide inGames "/publish big news") =! [ PublishText(alice, "big news") ])

        testCase "ping, help and quit" (fun () ->
            effectsOf inLobby "/ping" =! [ okReply (Pong None) ]
            effectsOf inLobby "/ping abc" =! [ okReply (Pong(Some "abc")) ]

            effectsOf inLobby "/help"
            =! (Decide.helpLines |> List.map (Info >> reply)) @ [ okReply HelpDone ]

            effectsOf inLobby "/quit" =! [ okReply QuitDone; CloseConnection ])

        testCase "an unknown command is UNKNOWN_COMMAND" (fun () ->
            effectsOf inLobby "/dance now"
            =! [ errReply UnknownCommandCode "/dance; /help lists the commands" ])
    ]
