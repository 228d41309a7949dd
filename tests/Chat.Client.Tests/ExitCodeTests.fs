/// The exit codes scripts branch on, and which ending deserves which.
module Chat.Client.Tests.ExitCodeTests

open NUnit.Framework
open Chat.Domain
open Chat.Client
open Chat.Client.ExitCode

let private some = Some
let private room = (RoomName.tryCreate "dev").Value
let private alice = (Username.tryCreate "alice").Value
let private lost = Lost "Connection reset by peer"

[<Test>]
let ``the codes are the documented numbers`` () =
    Assert.That([ Done; Failed; Usage; EndedByServer; LoginRefused ], Is.EqualTo(box [ 0; 1; 2; 3; 4 ]))

[<Test>]
let ``OK QUIT last: done, however the connection ended`` () =
    for quitSent in [ true; false ] do
        for ending in [ Closed; lost ] do
            Assert.That(ofEnding quitSent (some (Ok QuitDone)) ending, Is.EqualTo Done, $"{quitSent} {ending}")

[<Test>]
let ``ERR, FORCED_LOGOUT or SHUTDOWN last: ended by the server, even after our /quit or a broken connection`` () =
    let last = [
        Err(SlowConsumer, "too slow")
        Err(LoginTimeout, "no login")
        Sys(ForcedLogout "Logged in from another location.")
        Sys(Shutdown "bye")
    ]

    for msg in last do
        for quitSent in [ true; false ] do
            for ending in [ Closed; lost ] do
                Assert.That(ofEnding quitSent (some msg) ending, Is.EqualTo EndedByServer, $"{msg} {quitSent} {ending}")

[<Test>]
let ``closed after our /quit without its reply: done`` () =
    Assert.That(ofEnding true None Closed, Is.EqualTo Done)
    Assert.That(ofEnding true (some (Msg(room, (MsgId.tryCreate "1").Value, alice, "hi"))) Closed, Is.EqualTo Done)

[<Test>]
let ``closed without a word when we did not ask: ended by the server`` () =
    Assert.That(ofEnding false None Closed, Is.EqualTo EndedByServer)
    Assert.That(ofEnding false (some (Ok(Pong None))) Closed, Is.EqualTo EndedByServer)

[<Test>]
let ``a lost connection is a failure, asked to quit or not`` () =
    Assert.That(ofEnding false None lost, Is.EqualTo Failed)
    Assert.That(ofEnding true None lost, Is.EqualTo Failed)
    Assert.That(ofEnding true (some (Ok(Joined room))) lost, Is.EqualTo Failed)

[<Test>]
let ``the note says who closed or what was lost`` () =
    Assert.That(note "localhost:8000" Closed, Is.EqualTo "connection closed by localhost:8000")
    Assert.That(note "localhost:8000" lost, Is.EqualTo "connection to localhost:8000 lost: Connection reset by peer")

[<Test>]
let ``the help lists every code once`` () =
    Assert.That(help |> List.map (fun l -> l.Split(' ')[0]), Is.EqualTo(box [ "0"; "1"; "2"; "3"; "4" ]))
