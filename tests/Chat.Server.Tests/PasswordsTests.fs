namespace Chat.Server.Tests

open System
open FsCheck
open FsCheck.FSharp
open Expecto
open Chat.Testing
open Chat.Domain
open Chat.Server

/// bcrypt through BCrypt.Net-Next: hashes written before the move (BouncyCastle) still verify, new
/// ones are `$2b$`, and a malformed hash is a mismatch, never an exception.
module PasswordsTests =
    /// Made by BouncyCastle's `OpenBsdBCrypt.Generate("2b", "password123", salt, 4)`, as the server
    /// stored hashes before it moved to BCrypt.Net-Next (salt bytes 3, 20, 37, ... 17i+3).
    let stored = "$2b$04$.vOjLibWYVoJlI08x8Bv.eytPQw2Vd6XPbUgsBtDWUz47WtaoqsLO"

    let private password s =
        match Password.tryCreate s with
        | Result.Ok p -> p
        | Result.Error e -> failwithf "not a password: %A" e

    let private passwords = Passwords 4

    /// Well-formed in parts, broken as a whole: empty, truncated, wrong cost, revision or alphabet.
    let malformed = [
        ""
        " "
        "password123"
        "$2b$"
        "$2b$04$"
        "$2b$04$short"
        stored.Substring(0, stored.Length - 1)
        stored.Substring(0, 29)
        stored + "x"
        stored.Replace("$04$", "$4$")
        stored.Replace("$04$", "$xx$")
        stored.Replace("$04$", "$-1$")
        stored.Replace("$2b$", "$2q$")
        stored.Replace("$2b$", "$3b$")
        stored.Replace("$2b$", "2b$")
        "$2b$04$" + String('!', 53)
        "$2b$04$" + String('.', 22) + "\000" + String('.', 30)
        "$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$"
        String('a', 10_000)
    ]

    /// Strings of bcrypt's shape at cost 4: `$2b$04$` and any tail from its alphabet and a few more.
    let private tails =
        Gen.elements (
            "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789$!é\000"
            |> List.ofSeq
        )
        |> Gen.listOf
        |> Gen.map (fun cs -> "$2b$04$" + String(Array.ofList cs))
        |> Arb.fromGen

    [<Tests>]
    let tests =
        testList "PasswordsTests" [
            testCase "a $2b$ hash BouncyCastle wrote before the move verifies its password, and only it"
            <| fun () ->
                Expect.isTrue (passwords.Verify(stored, password "password123")) "password123"
                Expect.isFalse (passwords.Verify(stored, password "password124")) "password124"
                Expect.isFalse (passwords.Verify(stored, password "Password123")) "Password123"

            testCase "new hashes are $2b$ at the configured cost, and verify"
            <| fun () ->
                let hash = Passwords(5).Hash(password "hello world 72")
                Expect.stringStarts hash "$2b$05$" "revision and cost"
                Expect.equal hash.Length 60 "length"
                Expect.isTrue (passwords.Verify(hash, password "hello world 72")) "its password"
                Expect.isFalse (passwords.Verify(hash, password "hello world 73")) "another"

            testCase "a password of 72 bytes counts to its last byte"
            <| fun () ->
                let long = String('é', 35) + "ab"
                let hash = passwords.Hash(password long)
                Expect.isTrue (passwords.Verify(hash, password long)) "the same 72 bytes"
                Expect.isFalse (passwords.Verify(hash, password (String('é', 35) + "ac"))) "another last byte"

            yield! [
                for i, hash in List.indexed malformed ->
                    let shown = shown (box hash)

                    let shown =
                        if shown.Length > 70 then
                            shown.Substring(0, 60) + $"... ({hash.Length} chars)"
                        else
                            shown

                    testCase $"a malformed hash is a mismatch: {i} {shown}"
                    <| fun () -> Expect.isFalse (passwords.Verify(hash, password "password123")) "no match"
            ]

            testCase "no hash at all (null) is a mismatch"
            <| fun () -> Expect.isFalse (passwords.Verify(null, password "password123")) "no match"

            testPropertyWithConfig
                {
                    FsCheckConfig.defaultConfig with
                        maxTest = 200
                }
                "any other string of bcrypt's shape is a mismatch, never an exception"
            <| Prop.forAll tails (fun hash -> not (passwords.Verify(hash, password "password123")))

        ]

    [<Tests>]
    let overTheWire =
        ClusterSuite.perTest "PasswordsOverTheWire" [
            case "an account stored before the move logs in over the wire, with its password only"
            <| fun (t: ClusterPerTest) ->
                let redis = t.NewRedis()
                redis.Command [ "HSET"; "chat:{u:olduser}:account"; "hash"; stored ] |> ignore
                let c = t.NewCluster(redis.Configuration, 1, [], "old")
                let wrong = c.Connect(1, "wrong")
                Expect.stringStarts (wrong.Command "LOGIN olduser password124") "ERR AUTH_FAILED " "wrong password"
                let client = c.Connect(1, "olduser")
                client.Login("olduser", "password123")
                Expect.equal (client.Command "/who") "OK WHO lobby olduser" "logged in"

                Expect.equal
                    (redis.Command [ "HGET"; "chat:{u:olduser}:account"; "hash" ])
                    stored
                    "the hash is left as it was"
        ]
