/// The command line: what the flags come to, and the refusals a user sees.
module Chat.Client.Tests.ArgsTests

open System
open NUnit.Framework
open Chat.Domain
open Chat.Client

let private pinHex = String.replicate 32 "ab"

let private run argv =
    match Args.parse argv with
    | Args.Run s -> s
    | other -> failwith $"expected settings, got {other}"

let private refusal argv =
    match Args.parse argv with
    | Args.BadFlags text -> text
    | other -> failwith $"expected bad flags, got {other}"

[<Test>]
let ``no flags: localhost:8000, the system trust store, no user`` () =
    let s = run [||]

    Assert.That(
        (s.Host, s.Port, s.Trust, s.User, s.Register, s.Raw),
        Is.EqualTo((Args.DefaultHost, Args.DefaultPort, SystemStore, (None: Username option), false, false))
    )

    Assert.That((Args.DefaultHost, Args.DefaultPort), Is.EqualTo(("localhost", 8000)))

[<Test>]
let ``every flag comes through`` () =
    let s =
        run [|
            "--host"
            "chat.example"
            "--port"
            "7000"
            "--ca"
            "ca.pem"
            "--user"
            "Alice"
            "--register"
            "--raw"
        |]

    Assert.That(s.Host, Is.EqualTo "chat.example")
    Assert.That(s.Port, Is.EqualTo 7000)
    Assert.That(s.Trust, Is.EqualTo(CaFile "ca.pem"))
    Assert.That(s.User |> Option.map Username.value, Is.EqualTo(Some "alice"), "folded to lower case")
    Assert.That((s.Register, s.Raw), Is.EqualTo((true, true)))

[<TestCase("AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB")>]
[<TestCase("abababababababababababababababababababababababababababababababab")>]
[<TestCase("ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB")>]
let ``--pin takes the fingerprint with or without colons, in either case`` (pin: string) =
    Assert.That((run [| "--pin"; pin |]).Trust, Is.EqualTo(Pinned(Convert.FromHexString pinHex)))

[<Test>]
let ``a --pin that is not a SHA-256 fingerprint is refused, saying what it needs`` () =
    Assert.That(refusal [| "--pin"; "abcd" |], Does.Contain "64 hex digits")
    Assert.That(refusal [| "--pin"; pinHex + "ab" |], Does.Contain "64 hex digits")

[<Test>]
let ``--ca and --pin exclude each other`` () =
    Assert.That(refusal [| "--ca"; "ca.pem"; "--pin"; pinHex |], Does.Contain "exclude each other")

[<Test>]
let ``--register needs --user`` () =
    Assert.That(refusal [| "--register" |], Does.Contain "--register needs --user")

[<TestCase("0")>]
[<TestCase("65536")>]
[<TestCase("-1")>]
[<TestCase("http")>]
let ``a port outside 1..65535 is refused`` (port: string) =
    Assert.That(refusal [| "--port"; port |], Is.Not.Empty)

[<TestCase("bad name")>]
[<TestCase("-dash-first")>]
[<TestCase("abcdefghijklmnopqrstuvwxyz0123456")>]
let ``an invalid user name is refused`` (user: string) =
    Assert.That(refusal [| "--user"; user |], Is.Not.Empty)

[<Test>]
let ``an unknown flag is refused`` () =
    Assert.That(refusal [| "--nosuch" |], Does.Contain "--nosuch")

[<Test>]
let ``--help shows the flags, the commands and the exit codes`` () =
    match Args.parse [| "--help" |] with
    | Args.ShowHelp text ->
        for expected in
            [
                "--pin"
                "--ca"
                "--user"
                "/join <room>"
                "Exit codes:"
                "4 the --user login"
            ] do
            Assert.That(text, Does.Contain expected)
    | other -> Assert.Fail $"expected help, got {other}"
