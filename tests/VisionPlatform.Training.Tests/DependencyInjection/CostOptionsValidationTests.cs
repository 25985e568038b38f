using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Tests.DependencyInjection;

/// <summary>The price table (<c>Training:Cost</c>) is checked when the host starts, each problem naming its key.</summary>
public sealed class CostOptionsValidationTests
{
    [Fact]
    public async Task Negative_prices_are_rejected_at_start_up_naming_each_key()
    {
        var message = await StartUpFailureAsync(new()
        {
            ["Training:Cost:Currency"] = "EUR",
            ["Training:Cost:Default:GpuHour"] = "-1",
            ["Training:Cost:Default:CpuHour"] = "0.5",
            ["Training:Cost:Executors:kubernetes:CpuHour"] = "-0.25",
            ["Training:Cost:Executors:kubernetes:GpuHour"] = "2.5",
        });

        message.Should().Contain("Training:Cost:Default:GpuHour is -1: a price must be 0 or more.")
            .And.Contain("Training:Cost:Executors:kubernetes:CpuHour is -0.25: a price must be 0 or more.")
            .And.NotContain("Training:Cost:Default:CpuHour")
            .And.NotContain("Training:Cost:Executors:kubernetes:GpuHour")
            .And.NotContain("Currency");
    }

    [Theory]
    [InlineData("Training:Cost:Default:GpuHour")]
    [InlineData("Training:Cost:Executors:subprocess:CpuHour")]
    public async Task A_price_without_a_currency_is_rejected_naming_the_currency_key(string priceKey)
    {
        var message = await StartUpFailureAsync(new() { [priceKey] = "1.5" });

        message.Should().Contain("Training:Cost:Currency is required when a price is set (for example 'USD')");
    }

    [Theory]
    [InlineData("0", "0")]
    [InlineData("-2", "-2")]
    [InlineData("1024.5", "1024.5")]
    [InlineData("NaN", "NaN")]
    public async Task DefaultCpuCores_outside_its_range_is_rejected_naming_the_key(string configured, string shown)
    {
        var message = await StartUpFailureAsync(new() { ["Training:Cost:DefaultCpuCores"] = configured });

        message.Should().Contain($"Training:Cost:DefaultCpuCores is {shown}: it must be more than 0 and at most 1024.");
    }

    [Fact]
    public async Task A_valid_price_table_starts_and_is_bound()
    {
        await using var provider = Build(new()
        {
            ["Training:DefaultExecutor"] = "subprocess",
            ["Training:Cost:Currency"] = "EUR",
            ["Training:Cost:Default:GpuHour"] = "0",
            ["Training:Cost:Executors:kubernetes:GpuHour"] = "2.75",
            ["Training:Cost:DefaultCpuCores"] = "1024",
        });

        provider.GetRequiredService<IStartupValidator>().Validate();
        var cost = provider.GetRequiredService<IOptions<TrainingOptions>>().Value.Cost;

        cost.Currency.Should().Be("EUR");
        cost.Default.GpuHour.Should().Be(0m);
        cost.Executors["KUBERNETES"].GpuHour.Should().Be(2.75m, "executor names are case-insensitive");
        cost.DefaultCpuCores.Should().Be(1024);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddSubprocess(NoTrainerFiles);
        return services.BuildServiceProvider();
    }

    private static async Task<string> StartUpFailureAsync(Dictionary<string, string?> settings)
    {
        await using var provider = Build(settings);
        var start = () => provider.GetRequiredService<IStartupValidator>().Validate();
        var failure = start.Should().Throw<OptionsValidationException>().Which;

        // Resolving the options later fails the same way: the check is not only a start-up hook.
        var read = () => provider.GetRequiredService<IOptions<TrainingOptions>>().Value;
        read.Should().Throw<OptionsValidationException>().Which.Message.Should().Be(failure.Message);
        return failure.Message;
    }
}
