using System.Diagnostics.Metrics;

namespace VisionPlatform.Training.Diagnostics;

/// <summary>
/// The SDK's instruments on one <see cref="Meter"/> named <see cref="TrainingTelemetry.MeterName"/>. Created from the
/// host's <see cref="IMeterFactory"/> when there is one, so meters are scoped to the service provider and tests can
/// observe them; otherwise from a private meter.
/// </summary>
internal sealed class TrainingMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _starts;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _startFailures;

    public TrainingMetrics(IMeterFactory? meterFactory)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(TrainingTelemetry.MeterName);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(TrainingTelemetry.MeterName);
        }

        _starts = _meter.CreateCounter<long>(TrainingTelemetry.StartsInstrument, "{run}", "Runs started, by the executor that runs them.");
        _fallbacks = _meter.CreateCounter<long>(TrainingTelemetry.FallbacksInstrument, "{fallback}", "Starts that ran on a fallback executor because the requested one was unavailable.");
        _startFailures = _meter.CreateCounter<long>(TrainingTelemetry.StartFailuresInstrument, "{failure}", "Starts no executor in the chain could take.");
    }

    public void RunStarted(string executor) =>
        _starts.Add(1, new KeyValuePair<string, object?>(TrainingTelemetry.ExecutorTag, executor));

    public void FellBack(string requested, string used, string reasonKind) =>
        _fallbacks.Add(
            1,
            new KeyValuePair<string, object?>(TrainingTelemetry.RequestedExecutorTag, requested),
            new KeyValuePair<string, object?>(TrainingTelemetry.ExecutorTag, used),
            new KeyValuePair<string, object?>(TrainingTelemetry.ReasonTag, reasonKind));

    public void StartFailed(string requested, string reasonKind) =>
        _startFailures.Add(
            1,
            new KeyValuePair<string, object?>(TrainingTelemetry.RequestedExecutorTag, requested),
            new KeyValuePair<string, object?>(TrainingTelemetry.ReasonTag, reasonKind));

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
