/// `Decide.decide` after login: every command, as the effects it asks for.
module Chat.Domain.Tests.DecideLoggedInTests

open NUnit.Framework
open Chat.Domain
open Chat.Domain.Tests.Builders

let private alice = user "alice"
let private games = room "games"
let private inLobby = active "alice" "lobby"
let private inGames = active "alice" "games"

/// The effects of a line that must leave the session as it was.
let private effectsOf state line =
    let after, effects = decide state line
    after =! state
    effects

[<TestCase("LOGIN alice secret123")>]
[<TestCase("REGISTER bob secret123")>]
[<TestCase("LOGIN")>]
[<TestCase("REGISTER bob")>]
let ``LOGIN and REGISTER are ALREADY_LOGGED_IN`` (line: string) =
    effectsOf inLobby line
    =! [ errReply AlreadyLoggedIn "this connection is logged in already" ]

[<Test>]
let ``a line is said in the current room`` () =
    let after, effects = decide inGames "hello all"
    effects =! [ SayInRoom(games, alice, "hello all") ]

    (match after with
     | Active a -> (a.User, a.Room, a.Bucket.Tokens) =! (alice, games, 99.0)
     | other -> Assert.Fail $"not active: %A{other}")

[<Test>]
let ``a double slash says the line without its first slash`` () =
    snd (decide inLobby "//shrug") =! [ SayInRoom(lobby, alice, "/shrug") ]

[<Test>]
let ``join moves to another room`` () =
    effectsOf inLobby "/join Games"
    =! [ MoveRoom(alice, lobby, games, Joined games) ]

[<Test>]
let ``joining my own room answers OK JOIN and moves nothing`` () =
    effectsOf inGames "/join GAMES" =! [ okReply (Joined games) ]
    effectsOf inLobby "/join lobby" =! [ okReply (Joined lobby) ]

[<Test>]
let ``leave goes back to the lobby`` () =
    effectsOf inGames "/leave" =! [ MoveRoom(alice, games, lobby, Left games) ]

[<Test>]
let ``leave in the lobby answers OK LEAVE lobby and moves nothing`` () =
    effectsOf inLobby "/leave" =! [ okReply (Left lobby) ]

[<Test>]
let ``listings are queries`` () =
    effectsOf inGames "/rooms" =! [ Ask ListRooms ]
    effectsOf inGames "/who" =! [ Ask(ListWho games) ]
    effectsOf inGames "/users" =! [ Ask ListUsers ]
    effectsOf inGames "/subs" =! [ Ask(ListSubs alice) ]

[<Test>]
let ``history asks for the current room`` () =
    effectsOf inGames "/history" =! [ Ask(ShowHistory(games, 20)) ]
    effectsOf inGames "/history 5" =! [ Ask(ShowHistory(games, 5)) ]
    effectsOf inGames "/history 1000" =! [ Ask(ShowHistory(games, 100)) ]

[<TestCase("/history abc")>]
[<TestCase("/history 0")>]
[<TestCase("/join")>]
[<TestCase("/join no!pe")>]
[<TestCase("/subscribe")>]
[<TestCase("/unsubscribe a b")>]
[<TestCase("/publish")>]
let ``bad arguments are BAD_ARGUMENT`` (line: string) =
    errorCode (effectsOf inLobby line) =! Some BadArgumentCode

[<Test>]
let ``subscribe and unsubscribe follow and unfollow`` () =
    effectsOf inLobby "/subscribe Bob" =! [ Follow(alice, user "bob") ]
    effectsOf inLobby "/unsubscribe bob" =! [ Unfollow(alice, user "bob") ]

[<Test>]
let ``subscribing to myself is BAD_ARGUMENT`` () =
    effectsOf inLobby "/subscribe ALICE"
    =! [ errReply BadArgumentCode "you cannot subscribe to yourself" ]

[<Test>]
let ``publish goes to my subscribers`` () =
    snd (decide inGames "/publish big news") =! [ PublishText(alice, "big news") ]

[<Test>]
let ``ping, help and quit`` () =
    effectsOf inLobby "/ping" =! [ okReply (Pong None) ]
    effectsOf inLobby "/ping abc" =! [ okReply (Pong(Some "abc")) ]

    effectsOf inLobby "/help"
    =! (Decide.helpLines |> List.map (Info >> reply)) @ [ okReply HelpDone ]

    effectsOf inLobby "/quit" =! [ okReply QuitDone; CloseConnection ]

[<Test>]
let ``an unknown command is UNKNOWN_COMMAND`` () =
    effectsOf inLobby "/dance now"
    =! [ errReply UnknownCommandCode "/dance; /help lists the commands" ]
