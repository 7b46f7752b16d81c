// The 3D viewer of the HTML reports (`reconstruct report`). esbuild bundles this file with
// three.js into one classic script (dist/viewer.js) that the report copies beside its page.
//
// Why a bundle and embedded data: the report must open from file:// with no network, where
// Chromium refuses ES module scripts, fetch/XHR, and images as WebGL textures (file:// pages
// are each their own origin). A classic <script src> still loads, and data the page itself
// carries is same-origin: each mesh is a GLB (texture inside), base64 in the attribute
// data-glb of an element <div class="viewer">, parsed here with GLTFLoader.parse.
//
// One WebGL context draws every viewer in turn and each result is copied to the viewer's own
// 2D canvas: a browser keeps only about 16 WebGL contexts per page, and a report can hold more
// meshes than that. Frames are drawn on demand (first frame, then on orbit changes).
//
// Contract with the page and its tests: when every viewer has drawn its first frame or failed
// (failures go to console.error and into the viewer's box), window.viewerReady becomes true.

import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';

const FIELD_OF_VIEW_DEG = 30;
// The first view: 30° to the object's right and 20° above its front (+z, azimuth 0).
const START_AZIMUTH = (30 * Math.PI) / 180;
const START_ELEVATION = (20 * Math.PI) / 180;

function base64ToArrayBuffer(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function showProblem(element, message) {
  const p = document.createElement('p');
  p.className = 'viewer-error';
  p.textContent = message;
  element.appendChild(p);
}

// Places the camera so the whole bounding sphere is in view, looking at its centre.
function fitCamera(camera, controls, object) {
  const box = new THREE.Box3().setFromObject(object);
  const sphere = box.getBoundingSphere(new THREE.Sphere());
  const radius = Math.max(sphere.radius, 1e-6);
  const halfFov = (FIELD_OF_VIEW_DEG * Math.PI) / 360;
  const distance = radius / Math.sin(halfFov);
  const direction = new THREE.Vector3(
    Math.sin(START_AZIMUTH) * Math.cos(START_ELEVATION),
    Math.sin(START_ELEVATION),
    Math.cos(START_AZIMUTH) * Math.cos(START_ELEVATION));
  camera.position.copy(sphere.center).addScaledVector(direction, distance);
  camera.near = distance / 100;
  camera.far = distance * 100;
  camera.updateProjectionMatrix();
  controls.target.copy(sphere.center);
  controls.minDistance = radius * 0.2;
  controls.maxDistance = distance * 10;
  controls.update();
}

function start() {
  const elements = Array.from(document.querySelectorAll('.viewer[data-glb]'));
  let settled = 0;
  const settle = () => {
    settled += 1;
    if (settled === elements.length) window.viewerReady = true;
  };
  if (elements.length === 0) {
    window.viewerReady = true;
    return;
  }

  let renderer;
  try {
    renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    renderer.setPixelRatio(1);
  } catch (e) {
    console.error('viewer: WebGL is not available: ' + e.message);
    for (const element of elements) {
      showProblem(element, 'The 3D view needs WebGL, which this browser does not offer.');
      settle();
    }
    return;
  }

  const loader = new GLTFLoader();
  for (const element of elements) {
    const name = element.getAttribute('data-name') || 'mesh';
    const canvas = document.createElement('canvas');
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, element.clientWidth);
    const height = Math.max(1, element.clientHeight || width);
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    element.appendChild(canvas);
    const context = canvas.getContext('2d');

    const scene = new THREE.Scene();
    scene.background = new THREE.Color(0xffffff);
    const camera = new THREE.PerspectiveCamera(FIELD_OF_VIEW_DEG, width / height, 0.01, 100);
    // Light only matters to untextured meshes (lit grey); textured ones are unlit.
    scene.add(new THREE.HemisphereLight(0xffffff, 0x888888, 1.6));
    const headlight = new THREE.DirectionalLight(0xffffff, 1.6);
    headlight.position.set(0.3, 0.5, 1);
    camera.add(headlight);
    scene.add(camera);
    const controls = new OrbitControls(camera, canvas);

    let pending = false;
    const draw = () => {
      pending = false;
      renderer.setSize(canvas.width, canvas.height, false);
      renderer.render(scene, camera);
      context.clearRect(0, 0, canvas.width, canvas.height);
      context.drawImage(renderer.domElement, 0, 0);
    };
    controls.addEventListener('change', () => {
      if (!pending) {
        pending = true;
        requestAnimationFrame(draw);
      }
    });

    let buffer;
    try {
      buffer = base64ToArrayBuffer(element.getAttribute('data-glb'));
    } catch (e) {
      console.error('viewer: ' + name + ': the embedded GLB is not base64: ' + e.message);
      showProblem(element, 'This mesh could not be read.');
      settle();
      continue;
    }
    // Parsing is asynchronous (the texture decodes as an image); each viewer settles on its own.
    loader.parse(
      buffer,
      '',
      (gltf) => {
        try {
          scene.add(gltf.scene);
          fitCamera(camera, controls, gltf.scene);
          draw();
        } catch (e) {
          console.error('viewer: ' + name + ': ' + e.message);
          showProblem(element, 'This mesh could not be drawn.');
        }
        settle();
      },
      (error) => {
        console.error('viewer: ' + name + ': ' + (error && error.message ? error.message : error));
        showProblem(element, 'This mesh could not be read.');
        settle();
      });
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
