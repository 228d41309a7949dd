/// `Routing.route`: bus events into deliveries for the sessions of one instance.
module Chat.Domain.Tests.RoutingTests

open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders

let private alice, bob, carol = user "alice", user "bob", user "carol"
let private sa, sb, sc = sid "s-a", sid "s-b", sid "s-c"
let private games = room "games"

/// alice and bob in the lobby, carol in games, all local.
let private three =
    Routing.empty
    |> Routing.attach sa alice
    |> Routing.attach sb bob
    |> Routing.attach sc carol
    |> routeAll [
        BusEvent.Entered(alice, sa, lobby)
        BusEvent.Entered(bob, sb, lobby)
        BusEvent.Entered(carol, sc, games)
    ]
    |> fst

let private welcome u = Ok(LoggedIn(u, lobby))

[<Tests>]
let tests =
    testList "RoutingTests" [
        testCase "a welcomed session hears its OK with its own entry, before the room's traffic" (fun () ->
            let r =
                three
                |> Routing.attachWelcomed (sid "s-d") (user "dave") (welcome (user "dave"))
            // Traffic ordered before the entry is not the new session's.
            let r, before = Routing.route (BusEvent.Said(lobby, msgId "1", alice, "early")) r
            let r, entry = Routing.route (BusEvent.Entered(user "dave", sid "s-d", lobby)) r
            let r, after = Routing.route (BusEvent.Said(lobby, msgId "2", alice, "late")) r
            before =! [ Deliver(set [ sa; sb ], Msg(lobby, msgId "1", alice, "early")) ]

            entry
            =! [
                Deliver(set [ sid "s-d" ], welcome (user "dave"))
                Deliver(set [ sa; sb ], Sys(UserJoined(lobby, user "dave")))
            ]

            after
            =! [ Deliver(set [ sa; sb; sid "s-d" ], Msg(lobby, msgId "2", alice, "late")) ]

            Routing.pendingWelcome (sid "s-d") r =! None)

        testCase "a welcomed session taken over before its entry hears its OK, then the forced logout" (fun () ->
            let r = Routing.empty |> Routing.attachWelcomed sa alice (welcome alice)
            let r, ds = Routing.route (BusEvent.Kicked(alice, sa)) r

            ds
            =! [
                Deliver(set [ sa ], welcome alice)
                Disconnect(sa, Sys(ForcedLogout Routing.forcedLogoutText))
            ]

            (Routing.pendingWelcome sa r, Routing.isAttached sa r) =! (None, false))

        testCase "a welcome the shell sent itself is not sent again by the entry" (fun () ->
            let r =
                Routing.empty
                |> Routing.attachWelcomed sa alice (welcome alice)
                |> Routing.dropWelcome sa

            let r, ds = Routing.route (BusEvent.Entered(alice, sa, lobby)) r
            (ds, Routing.roomOf sa r) =! ([], Some lobby))

        testCase "a session that ends before its entry forgets its welcome" (fun () ->
            let r =
                Routing.empty
                |> Routing.attachWelcomed sa alice (welcome alice)
                |> Routing.detach sa

            Routing.pendingWelcome sa r =! None)

        testCase "entering tells the other members of the room" (fun () ->
            let r = Routing.empty |> Routing.attach sa alice |> Routing.attach sb bob
            let r, first = Routing.route (BusEvent.Entered(alice, sa, lobby)) r
            let r, second = Routing.route (BusEvent.Entered(bob, sb, lobby)) r
            (first, second) =! ([], [ Deliver(set [ sa ], Sys(UserJoined(lobby, bob))) ])
            (Routing.roomOf sa r, Routing.roomOf sb r) =! (Some lobby, Some lobby))

        testCase "a remote session's entry is announced but not routed" (fun () ->
            let r, ds =
                Routing.route (BusEvent.Entered(user "dave", sid "remote-1", lobby)) three

            ds =! [ Deliver(set [ sa; sb ], Sys(UserJoined(lobby, user "dave"))) ]
            (r, Routing.isAttached (sid "remote-1") r) =! (three, false))

        testCase "a room message goes to every member, the sender included" (fun () ->
            let said = BusEvent.Said(lobby, msgId "1", alice, "hi")

            Routing.route said three
            =! (three, [ Deliver(set [ sa; sb ], Msg(lobby, msgId "1", alice, "hi")) ]))

        testCase "a room without local members gets no delivery" (fun () ->
            Routing.route (BusEvent.Said(room "empty", msgId "1", alice, "hi")) three
            =! (three, []))

        testCase "moving tells the old room, then the new one" (fun () ->
            let r, left = Routing.route (BusEvent.Left(alice, sa, lobby)) three
            let r, entered = Routing.route (BusEvent.Entered(alice, sa, games)) r

            left @ entered
            =! [
                Deliver(set [ sb ], Sys(UserLeft(lobby, alice)))
                Deliver(set [ sc ], Sys(UserJoined(games, alice)))
            ]

            Routing.roomOf sa r =! Some games

            snd (Routing.route (BusEvent.Said(lobby, msgId "2", bob, "x")) r)
            =! [ Deliver(set [ sb ], Msg(lobby, msgId "2", bob, "x")) ])

        testCase
            "the new room's entry seen before the old room's leave: the old room's traffic stops at once"
            (fun () ->
                let r, _ = Routing.route (BusEvent.Entered(alice, sa, games)) three
                Routing.roomOf sa r =! Some games

                snd (Routing.route (BusEvent.Said(lobby, msgId "2", bob, "x")) r)
                =! [ Deliver(set [ sb ], Msg(lobby, msgId "2", bob, "x")) ]

                let r', ds = Routing.route (BusEvent.Left(alice, sa, lobby)) r
                ds =! [ Deliver(set [ sb ], Sys(UserLeft(lobby, alice))) ]
                Routing.roomOf sa r' =! Some games)

        testCase "leaving tells the others and keeps the session attached" (fun () ->
            let r, ds = Routing.route (BusEvent.Left(bob, sb, lobby)) three
            ds =! [ Deliver(set [ sa ], Sys(UserLeft(lobby, bob))) ]
            (Routing.isAttached sb r, Routing.roomOf sb r) =! (true, None))

        testCase "a publish goes to the online recipients only" (fun () ->
            let pub =
                BusEvent.Published(msgId "p1", alice, "news", [ carol; bob; user "offline" ])

            Routing.route pub three
            =! (three, [ Deliver(set [ sc; sb ], Pub(msgId "p1", alice, "news")) ]))

        testCase "a publish reaches a recipient once even when listed twice" (fun () ->
            let pub = BusEvent.Published(msgId "p1", alice, "news", [ bob; bob ])

            snd (Routing.route pub three)
            =! [ Deliver(set [ sb ], Pub(msgId "p1", alice, "news")) ])

        testCase "a publish without local recipients delivers nothing" (fun () ->
            Routing.route (BusEvent.Published(msgId "p1", alice, "news", [])) three
            =! (three, []))

        testCase "a direct message goes to its recipient's local session only" (fun () ->
            Routing.route (BusEvent.Direct(msgId "9-0", alice, carol, "psst")) three
            =! (three, [ Deliver(set [ sc ], Dm(msgId "9-0", alice, "psst")) ]))

        testCase "a direct message to a user not logged in here delivers nothing" (fun () ->
            Routing.route (BusEvent.Direct(msgId "9-0", alice, user "dave", "psst")) three
            =! (three, []))

        testCase "a kicked local session is disconnected with FORCED_LOGOUT" (fun () ->
            let r, ds = Routing.route (BusEvent.Kicked(bob, sb)) three
            ds =! [ Disconnect(sb, Sys(ForcedLogout "Logged in from another location.")) ]
            Routing.isAttached sb r =! false)

        testCase "kicking an unknown session is a no-op" (fun () ->
            Routing.route (BusEvent.Kicked(bob, sid "elsewhere")) three =! (three, []))

        testCase "a newer session of the same user gets the publishes; detaching the older keeps it" (fun () ->
            let sb2 = sid "s-b2"
            let r = three |> Routing.attach sb2 bob |> Routing.detach sb
            let pub = BusEvent.Published(msgId "p1", alice, "news", [ bob ])

            snd (Routing.route pub r)
            =! [ Deliver(set [ sb2 ], Pub(msgId "p1", alice, "news")) ])

        testCase "an attached session gets room traffic only after its Entered" (fun () ->
            let r = three |> Routing.attach (sid "s-d") (user "dave")
            let said = BusEvent.Said(lobby, msgId "1", alice, "hi")

            snd (Routing.route said r)
            =! [ Deliver(set [ sa; sb ], Msg(lobby, msgId "1", alice, "hi")) ])

        testCase "sessions lists the attached sessions" (fun () ->
            Routing.sessions three |> List.sort
            =! List.sort [ sa, alice; sb, bob; sc, carol ]

            Routing.sessions Routing.empty =! [])
    ]
