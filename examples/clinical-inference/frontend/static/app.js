/* global document, fetch -- a browser script, served to the page by the frontend */
// Posts the form's features to the inference API through the gateway. The URL is relative to the
// page (served at /<environment>/clinical-frontend/), so the API is the same origin: no CORS.
export const INFER_URL = '../clinical-risk/v2/models/clinical-risk/infer';

document.getElementById('risk-form')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = document.getElementById('features').value.split(',').map(Number);
  const response = await fetch(new URL(INFER_URL, document.baseURI), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, data.length], datatype: 'FP32', data }] }),
  });
  const answer = await response.json();
  const probability = answer.outputs?.find((o) => o.name === 'probability')?.data?.[0];
  document.getElementById('risk').textContent =
    probability === undefined ? `error ${response.status}` : `${(probability * 100).toFixed(1)} %`;
});
