import { MantineProvider } from '@mantine/core';
import { fireEvent, render, screen } from '@testing-library/react';
import { apiError } from '../api/client';
import { ErrorAlert } from './ErrorAlert';

function renderAlert(error: unknown, onRetry?: () => void) {
  return render(
    <MantineProvider>
      <ErrorAlert error={error} onRetry={onRetry} />
    </MantineProvider>,
  );
}

describe('ErrorAlert', () => {
  it("shows the API's own message, status and code", () => {
    // The body every Lamina route answers an error with.
    const error = apiError(409, { status: 409, code: 'conflict', message: 'A variant named "prod" exists.' });
    renderAlert(error);
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('A variant named "prod" exists.');
    expect(alert).toHaveTextContent('HTTP 409');
    expect(alert).toHaveTextContent('conflict');
  });

  it("shows API Gateway's bare message and calls retry", () => {
    const retry = vi.fn();
    renderAlert(apiError(503, { message: 'Service Unavailable' }), retry);
    expect(screen.getByRole('alert')).toHaveTextContent('Service Unavailable');
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(retry).toHaveBeenCalledOnce();
  });
});
