import { describe, expect, it } from 'vitest';
import { otlpMetricsWanted } from '../../src/observability/Metrics.js';
import {
  resolveSpansWanted,
  serviceNamed,
  tracingWanted,
} from '../../src/observability/tracing.js';

describe('which OpenTelemetry variables start what', () => {
  it('starts tracing only when an endpoint or a traces exporter asks for it', () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(
      true,
    );
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'x' })).toBe(
      false,
    );
    expect(tracingWanted({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
  });

  it('pushes metrics by OTLP when asked, the scrape endpoint being separate', () => {
    expect(otlpMetricsWanted({})).toBe(false);
    expect(otlpMetricsWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(
      otlpMetricsWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'x', OTEL_METRICS_EXPORTER: 'none' }),
    ).toBe(false);
    expect(otlpMetricsWanted({ OTEL_METRICS_EXPORTER: 'otlp' })).toBe(true);
    expect(otlpMetricsWanted({ OTEL_SDK_DISABLED: 'TRUE', OTEL_METRICS_EXPORTER: 'otlp' })).toBe(
      false,
    );
  });

  it('keeps resolve spans off unless TRACE_RESOLVE_SPANS=true, refusing anything else', () => {
    expect(resolveSpansWanted({})).toBe(false);
    expect(resolveSpansWanted({ TRACE_RESOLVE_SPANS: 'false' })).toBe(false);
    expect(resolveSpansWanted({ TRACE_RESOLVE_SPANS: 'true' })).toBe(true);
    expect(() => resolveSpansWanted({ TRACE_RESOLVE_SPANS: 'yes' })).toThrow(
      /TRACE_RESOLVE_SPANS must be true or false/,
    );
  });

  it('names the service gatehouse unless the environment names it', () => {
    expect(serviceNamed({})).toBe(false);
    expect(serviceNamed({ OTEL_SERVICE_NAME: 'api' })).toBe(true);
    expect(serviceNamed({ OTEL_RESOURCE_ATTRIBUTES: 'team=x,service.name=api' })).toBe(true);
    expect(serviceNamed({ OTEL_RESOURCE_ATTRIBUTES: 'service.namespace=x' })).toBe(false);
  });
});
