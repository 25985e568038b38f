using System.Text.Json;
using VisionPlatform.Training.Testing;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Tests.Trainers;

/// <summary>
/// A resuming run gets the contract's generic resume flags and, in its advanced config, the library's own resume
/// setting (ultralytics' and timm's <c>resume</c>, Hugging Face's <c>resume_from_checkpoint</c>), rendered by both
/// contracts through their public <see cref="ITrainerContract.CreateInvocation"/>.
/// </summary>
public sealed class FrameworkResumeTests
{
    private const string Checkpoint = "/ckpt/run-7/weights/last.pt";

    private static readonly TrainerLaunchContext Context = new() { OutputDirectory = "/workspace/output" };

    public static TheoryData<string, string> LibraryKeys => new()
    {
        { "ultralytics", "resume" },
        { "timm", "resume" },
        { "huggingface", "resume_from_checkpoint" },
        { "transformers", "resume_from_checkpoint" },
    };

    [Theory]
    [MemberData(nameof(LibraryKeys))]
    public void The_flags_contract_renders_the_generic_flags_and_appends_the_librarys_resume_setting(string framework, string key)
    {
        var config = Resuming(framework, "{\"lr0\":0.01,\"mosaic\":false}").Build();

        var args = new FlagTrainerContract().CreateInvocation(config, Context).Arguments;

        args.Should().ContainInConsecutiveOrder(
            "--checkpoint_path", Checkpoint, "--resume", "--advanced_config", $"{{\"lr0\":0.01,\"mosaic\":false,\"{key}\":\"{Checkpoint}\"}}");
        FrameworkResume.GetAdvancedConfigKey(framework).Should().Be(key);
    }

    [Theory]
    [MemberData(nameof(LibraryKeys))]
    public void The_flags_contract_renders_the_setting_alone_when_the_job_has_no_advanced_config(string framework, string key)
    {
        var config = Resuming(framework, advanced: null).Build();

        var args = new FlagTrainerContract().CreateInvocation(config, Context).Arguments;

        args.Should().ContainInConsecutiveOrder("--checkpoint_path", Checkpoint, "--resume", "--advanced_config", $"{{\"{key}\":\"{Checkpoint}\"}}");
    }

    [Theory]
    [MemberData(nameof(LibraryKeys))]
    public void The_json_config_contract_renders_checkpoint_path_resume_and_the_setting_in_advanced_config(string framework, string key)
    {
        var config = Resuming(framework, "{\"lr0\":0.01,\"mosaic\":false}").Build();

        var invocation = new JsonConfigTrainerContract().CreateInvocation(config, Context);

        var args = invocation.Arguments.ToList();
        var text = args[args.IndexOf("--config") + 1];
        invocation.Environment["CONFIG"].Should().Be(text);
        using var json = JsonDocument.Parse(text);
        json.RootElement.GetProperty("checkpoint_path").GetString().Should().Be(Checkpoint);
        json.RootElement.GetProperty("resume").GetBoolean().Should().BeTrue();
        json.RootElement.GetProperty("advanced_config").EnumerateObject().Select(p => $"{p.Name}={p.Value.GetRawText()}")
            .Should().Equal("lr0=0.01", "mosaic=false", $"{key}=\"{Checkpoint}\"");
    }

    [Fact]
    public void The_documented_json_config_example_is_what_the_contract_renders()
    {
        var builder = Resuming("huggingface", """{"mosaic": 1.0, "name": "resumed run"}""");
        builder.CheckpointPath = "out/checkpoint-500";

        var args = new JsonConfigTrainerContract().CreateInvocation(builder.Build(), Context).Arguments.ToList();

        args[args.IndexOf("--config") + 1].Should().Contain(
            "\"checkpoint_path\":\"out/checkpoint-500\",\"resume\":true,\"advanced_config\":{\"mosaic\":1.0,\"name\":\"resumed run\",\"resume_from_checkpoint\":\"out/checkpoint-500\"}");
    }

    [Theory]
    [InlineData("pytorch")]
    [InlineData("custom-detector")]
    public void Other_frameworks_get_only_the_generic_flags_and_their_advanced_config_verbatim(string framework)
    {
        // Keys a library framework would own are plain settings here: neither rendered nor a conflict.
        const string advanced = "{\"resume\": true, \"resume_from_checkpoint\": \"elsewhere\"}";
        var config = Resuming(framework, advanced).Build();

        var flags = new FlagTrainerContract().CreateInvocation(config, Context).Arguments;
        var json = new JsonConfigTrainerContract().CreateInvocation(config, Context).Arguments.ToList();
        var bare = new FlagTrainerContract().CreateInvocation(Resuming(framework, advanced: null).Build(), Context).Arguments;

        FrameworkResume.GetAdvancedConfigKey(framework).Should().BeNull();
        flags.Should().ContainInConsecutiveOrder("--checkpoint_path", Checkpoint, "--resume", "--advanced_config", advanced);
        bare.Should().ContainInConsecutiveOrder("--checkpoint_path", Checkpoint, "--resume").And.NotContain("--advanced_config");
        using var config2 = JsonDocument.Parse(json[json.IndexOf("--config") + 1]);
        config2.RootElement.GetProperty("advanced_config").EnumerateObject().Select(p => $"{p.Name}={p.Value.GetRawText()}")
            .Should().Equal("resume=true", "resume_from_checkpoint=\"elsewhere\"");
    }

    [Theory]
    [MemberData(nameof(LibraryKeys))]
    public void A_run_that_does_not_resume_gets_its_advanced_config_verbatim(string framework, string key)
    {
        var pretty = $"{{\n  \"{key}\": \"other.pt\",\n  \"b\" : [1, 2]\n}}\n";
        var startFrom = Resuming(framework, pretty);
        startFrom.Resume = false;
        var plain = Resuming(framework, pretty);
        plain.Resume = false;
        plain.CheckpointPath = null;

        foreach (var config in new[] { startFrom.Build(), plain.Build() })
        {
            FrameworkResume.GetTrainerAdvancedConfig(config).Should().BeSameAs(config.AdvancedConfig);
            var args = new FlagTrainerContract().CreateInvocation(config, Context).Arguments;
            args.Should().NotContain("--resume");
            args[^1].Should().Be(pretty);
        }

        var none = Resuming(framework, advanced: null);
        none.Resume = false;
        new FlagTrainerContract().CreateInvocation(none.Build(), Context).Arguments.Should().NotContain("--advanced_config");
    }

    [Fact]
    public void The_callers_text_is_kept_byte_for_byte_and_the_setting_goes_last()
    {
        const string pretty = "{\n  \"b\": 2,\n  \"a\": {\"x\": \"\\u00fc}\"}\n}\n";
        var config = Resuming("ultralytics", pretty).Build();

        var rendered = FrameworkResume.GetTrainerAdvancedConfig(config);

        rendered.Should().Be("{\n  \"b\": 2,\n  \"a\": {\"x\": \"\\u00fc}\"}\n,\"resume\":\"" + Checkpoint + "\"}\n");
        FrameworkResume.GetTrainerAdvancedConfig(Resuming("ultralytics", "{ }").Build()).Should().Be("{ \"resume\":\"" + Checkpoint + "\"}");
    }

    [Fact]
    public void Rendering_is_deterministic_and_escapes_the_checkpoint_path_as_json()
    {
        const string path = "s3://bucket/run \"7\"/ünï\\checkpoint-500";
        var builder = Resuming("huggingface", "{\"a\":1}");
        builder.CheckpointPath = path;

        var first = FrameworkResume.GetTrainerAdvancedConfig(builder.Build());
        var second = FrameworkResume.GetTrainerAdvancedConfig(builder.Build());

        first.Should().Be(second);
        using var json = JsonDocument.Parse(first!);
        json.RootElement.GetProperty("resume_from_checkpoint").GetString().Should().Be(path);
        json.RootElement.GetProperty("a").GetInt32().Should().Be(1);
    }

    [Theory]
    [InlineData("{\"resume\":\"" + Checkpoint + "\",\"lr0\":0.01}")]
    [InlineData("{\"lr0\":0.01,\"re\\u0073ume\":\"" + Checkpoint + "\"}")]
    public void The_same_value_already_in_the_advanced_config_is_fine_and_not_duplicated(string advanced)
    {
        var config = Resuming("ultralytics", advanced).Build();

        FrameworkResume.GetTrainerAdvancedConfig(config).Should().BeSameAs(config.AdvancedConfig);
        new FlagTrainerContract().CreateInvocation(config, Context).Arguments.Should().ContainInConsecutiveOrder("--advanced_config", advanced);
    }

    [Theory]
    [InlineData("ultralytics", "resume", "true")]
    [InlineData("timm", "resume", "\"/other/checkpoint-3.pth.tar\"")]
    [InlineData("huggingface", "resume_from_checkpoint", "\"out/checkpoint-500\"")]
    [InlineData("transformers", "resume_from_checkpoint", "null")]
    public void A_different_value_for_the_librarys_key_is_refused_by_Build_naming_the_field_the_conflict_and_the_rule(string framework, string key, string value)
    {
        var builder = Resuming(framework, $"{{\"lr0\":0.01,\"{key}\":{value}}}");

        var error = builder.Invoking(b => b.Build()).Should().Throw<TrainingValidationException>().Which.Errors.Should().ContainSingle().Subject;

        error.Field.Should().Be($"AdvancedConfig.{key}");
        error.Value.Should().Be(value);
        error.Rule.Should().Be(
            $"conflicts with CheckpointPath: when Resume is set, the SDK renders the {framework} library's resume setting \"{key}\" as CheckpointPath in the advanced config; leave the key out (the SDK adds it) or give it exactly CheckpointPath's value");
        builder.Validate().Should().ContainSingle().Which.Should().Be(error);

        builder.Resume = false;
        builder.Build().AdvancedConfig.Should().Be($"{{\"lr0\":0.01,\"{key}\":{value}}}", "without Resume the key is the caller's own setting");
    }

    [Fact]
    public void A_duplicate_key_with_one_different_value_is_a_conflict_too()
    {
        var builder = Resuming("timm", "{\"resume\":\"" + Checkpoint + "\",\"resume\":false}");

        builder.Validate().Should().ContainSingle().Which.Field.Should().Be("AdvancedConfig.resume");
    }

    [Fact]
    public void The_flags_contracts_one_argument_limit_counts_the_rendered_setting()
    {
        // An advanced config of exactly the limit passes alone, but not with the resume setting appended.
        const string prefix = "{\"pad\":\"";
        var advanced = prefix + new string('x', 131_053 - prefix.Length - 2) + "\"}";
        advanced.Length.Should().Be(131_053);
        var resuming = Resuming("ultralytics", advanced);
        var starting = Resuming("ultralytics", advanced);
        starting.Resume = false;

        new FlagTrainerContract().CreateInvocation(starting.Build(), Context).Arguments[^1].Should().BeSameAs(advanced);
        var error = new FlagTrainerContract().Invoking(c => c.CreateInvocation(resuming.Build(), Context))
            .Should().Throw<TrainingValidationException>().Which.Errors.Should().ContainSingle().Subject;
        error.Field.Should().Be("AdvancedConfig");
        error.Rule.Should().StartWith("must be at most 131053 bytes of UTF-8");
    }

    private static TrainingJobConfigBuilder Resuming(string framework, string? advanced)
    {
        var builder = SampleJobs.YoloBuilder("job-resume", epochs: 3);
        builder.Framework = framework;
        builder.CheckpointPath = Checkpoint;
        builder.Resume = true;
        builder.AdvancedConfig = advanced;
        return builder;
    }
}
