export { rankGenesGroups, benjaminiHochberg, twoSidedNormalP, type MarkerTable, type WilcoxonOptions } from './wilcoxon.js';
