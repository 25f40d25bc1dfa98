import { Center, Loader } from '@mantine/core';

/** A page or panel waiting for its data (also the Suspense fallback of lazy pages). */
export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <Center py="xl" aria-busy="true" aria-label={label}>
      <Loader size="md" />
    </Center>
  );
}
