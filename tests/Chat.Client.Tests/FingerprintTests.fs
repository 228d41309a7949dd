/// SHA-256 pins as people paste them: from the server's log (colons, upper case), from sha256sum
/// (lower case, no colons), with stray spaces around.
module Chat.Client.Tests.FingerprintTests

open System
open System.Security.Cryptography
open FsCheck
open FsCheck.FSharp
open NUnit.Framework
open Chat.Client

let private digest = Array.init 32 (fun i -> byte (i * 8 + 1))
let private hex = Convert.ToHexString digest // upper case, no colons

let private colons (s: string) =
    s |> Seq.chunkBySize 2 |> Seq.map String |> String.concat ":"

let accepted = [
    "upper case, colons", colons hex
    "lower case, colons", (colons hex).ToLowerInvariant()
    "upper case, no colons", hex
    "lower case, no colons", hex.ToLowerInvariant()
    "mixed case",
    String(
        hex
        |> Seq.mapi (fun i c -> if i % 3 = 0 then Char.ToLowerInvariant c else c)
        |> Array.ofSeq
    )
    "spaces around", "  " + colons hex + " \t"
    "colons anywhere", "::" + hex.Substring(0, 5) + ":" + hex.Substring 5
]

let acceptedCases =
    accepted
    |> List.map (fun (what, pin) -> TestCaseData(pin).SetName($"a pin is read: {what}"))

[<TestCaseSource(nameof acceptedCases)>]
let ``a pin is read`` (pin: string) =
    Assert.That(Fingerprint.tryParse pin, Is.EqualTo(Some digest))

let refused = [
    "empty", ""
    "null", null
    "one digit short", hex.Substring 1
    "one byte long", hex + "AB"
    "SHA-1 length", hex.Substring(0, 40)
    "not hex", hex.Substring(2) + "ZZ"
    "inner space", hex.Substring(0, 10) + " " + hex.Substring 10
    "dashes", String.Join("-", hex |> Seq.chunkBySize 2 |> Seq.map String)
    "non-ASCII digits", hex.Substring(2) + "\uff10\uff10" // full-width zeros
]

let refusedCases =
    refused
    |> List.map (fun (what, pin) -> TestCaseData(pin).SetName($"a pin is refused: {what}"))

[<TestCaseSource(nameof refusedCases)>]
let ``a pin is refused`` (pin: string) =
    Assert.That(Fingerprint.tryParse pin, Is.EqualTo(None: byte array option))

[<Test>]
let ``format prints colon-separated upper-case hex, as openssl does`` () =
    Assert.That(Fingerprint.format [| 0x0auy; 0xbcuy; 0xffuy; 0uy |], Is.EqualTo "0A:BC:FF:00")
    Assert.That(Fingerprint.format digest, Is.EqualTo(colons hex))

[<FsCheck.NUnit.Property(MaxTest = 300)>]
let ``format and tryParse agree on every digest, whatever the case`` () =
    Prop.forAll (Arb.fromGen (Gen.arrayOfLength 32 (Gen.choose (0, 255) |> Gen.map byte))) (fun d ->
        let shown = Fingerprint.format d

        Fingerprint.tryParse shown = Some d
        && Fingerprint.tryParse (shown.ToLowerInvariant()) = Some d
        && Fingerprint.tryParse (shown.Replace(":", "")) = Some d)

[<FsCheck.NUnit.Property(MaxTest = 300)>]
let ``a pin of any other length is refused`` (NonNegativeInt n) =
    let n = n % 80
    (n <> 32) ==> lazy (Fingerprint.tryParse (String('a', 2 * n)) = None)

[<Test>]
let ``the pin is the SHA-256 of the certificate's DER bytes`` () =
    let der = Text.Encoding.ASCII.GetBytes "not really DER, but bytes all the same"
    let pin = SHA256.HashData der
    Assert.That(Fingerprint.ofDer der, Is.EqualTo(box pin))
    Assert.That(Fingerprint.matches pin der, Is.True)
    Assert.That(Fingerprint.matches pin (Array.append der [| 0uy |]), Is.False)
    Assert.That(Fingerprint.matches (Array.take 31 pin) der, Is.False)
