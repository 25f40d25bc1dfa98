import { MantineProvider } from '@mantine/core';
import { render, screen, within } from '@testing-library/react';
import { apiError } from '../../api/client';
import { UploadErrors } from './UploadErrors';
import { uploadReport } from './uploadReport';

// A CSV whose first row quotes a comma and a newline (fine), and whose rows 2 and 4 lack a field.
const FILE = 'question,correct_answer,tag\n"a, b","line one\nline two",x\nshort,row\nfine,yes,z\nalso,short\n';

describe('UploadErrors', () => {
  it("puts the API's message on the row it names and flags every other row with the same fault", () => {
    const error = apiError(400, {
      status: 400,
      code: 'malformed_upload',
      message: 'row 2 (line 4) has 2 fields; the header has 3',
    });
    render(
      <MantineProvider>
        <UploadErrors report={uploadReport(error, FILE, 'csv')} />
      </MantineProvider>,
    );
    const table = screen.getByTestId('upload-row-errors');
    // Only the bad rows are listed, each with its own error.
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((row) => row.getAttribute('data-row'))).toEqual(['2', '4']);
    expect(rows[0]).toHaveTextContent('row 2 (line 4) has 2 fields; the header has 3');
    expect(rows[1]).toHaveTextContent('row 4 has 2 fields; the header has 3');
    expect(screen.getByRole('alert')).toHaveTextContent('2 rows need fixing');
  });

  it('shows the rows of a JSON file with the row the API named', () => {
    const error = apiError(400, { status: 400, message: 'row 2 is not an object (it is list)' });
    const report = uploadReport(error, '[{"q": "hi", "n": 1}, [1, 2]]', 'json');
    expect(report.header).toEqual(['q', 'n']);
    expect(report.rows[0]).toMatchObject({ row: 1, cells: ['hi', '1'], errors: [] });
    expect(report.rows[1].errors).toEqual(['row 2 is not an object (it is list)']);
  });
});
